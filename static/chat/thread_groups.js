// The sidebar's date groups: Today, Yesterday, Previous 7 days, Older, by each thread's last
// activity in the browser's time zone.

const DAY_MS = 24 * 60 * 60 * 1000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

export function groupLabel(updatedAt, now = new Date()) {
  const days = Math.round((startOfDay(now) - startOfDay(new Date(updatedAt))) / DAY_MS);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days <= 7) return "Previous 7 days";
  return "Older";
}

// [[label, [thread, ...]], ...] in the threads' order (newest first).
export function groupThreads(threads, now = new Date()) {
  const groups = [];
  for (const thread of threads) {
    const label = groupLabel(thread.updated_at, now);
    const last = groups[groups.length - 1];
    if (last && last[0] === label) last[1].push(thread);
    else groups.push([label, [thread]]);
  }
  return groups;
}
