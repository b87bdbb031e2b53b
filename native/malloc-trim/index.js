"use strict";
// Built by `npm ci` with node-gyp, as better-sqlite3 is. Where it was not built or cannot load (no
// compiler, another libc), trim() does nothing and resolves with false: memory is only held longer.
let addon = null;
try {
  addon = require("./build/Release/malloc_trim.node");
} catch {
  addon = null;
}

// `exports.name =` assignments, so that ESM imports (tsx, the CLI) see the names.
exports.supported = addon !== null && addon.supported === true;
exports.trim = () => (addon ? addon.trim() : Promise.resolve(false));
