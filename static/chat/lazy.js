// A module imported on first use, not with the page: `get()` is it once it has arrived (null
// before), `load()` starts the import (once) and resolves to it.

export function lazyModule(importer) {
  let value = null;
  let pending = null;
  const load = () => {
    pending ??= importer().then(
      (loaded) => (value = loaded),
      (error) => {
        pending = null; // a failed fetch (a network blip) is tried again on the next use
        throw error;
      },
    );
    return pending;
  };
  return { get: () => value, load };
}

// After the page has started and the browser is idle: a module wanted soon, but not to start.
export function whenIdle(callback) {
  if ("requestIdleCallback" in window) requestIdleCallback(callback, { timeout: 5000 });
  else setTimeout(callback, 1000);
}
