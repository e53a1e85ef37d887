// The admin's charts (Chart.js, vendored): a stacked bar chart of tokens per day from the
// JSON the page embeds (#usage-data), and the token rate of a run (#rate-data).
"use strict";

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function usageChart() {
  const data = readJson("usage-data");
  const canvas = document.getElementById("usage-canvas");
  if (!data || !canvas) return;
  const chart = new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: data.datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "tokens" } } },
    },
  });
  canvas.dataset.ready = String(chart.data.datasets.length);
}

function rateChart() {
  const data = readJson("rate-data");
  const canvas = document.getElementById("rate-canvas");
  if (!data || !canvas) return;
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.map((point) => point[0].toFixed(1)),
      datasets: [{ label: "tokens/s", data: data.map((point) => point[1]) }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { title: { display: true, text: "seconds since the POST" } } },
    },
  });
  canvas.dataset.ready = "1";
}

usageChart();
rateChart();
