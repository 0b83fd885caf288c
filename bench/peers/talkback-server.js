// Talkback in replay-only mode, for `just bench-peers` (bench/peers.py).
//
//     node bench/peers/talkback-server.js PORT TAPES_DIR
//
// Serves the tapes in TAPES_DIR on 127.0.0.1:PORT: no recording, no proxying (an unknown
// request gets talkback's 404), no per-request console output, no exit summary. talkback is
// resolved through NODE_PATH (bench/target/peers/node_modules, installed by `npm ci` from
// bench/peers/package-lock.json).

"use strict";

const path = require("path");
const talkback = require("talkback");

const [port, tapes] = process.argv.slice(2);
if (!port || !tapes) {
  console.error("usage: node talkback-server.js PORT TAPES_DIR");
  process.exit(2);
}

const server = talkback({
  host: "http://dsvcr.bench.invalid", // never contacted: recording is off and the fallback is NOT_FOUND
  port: Number(port),
  path: path.resolve(tapes) + path.sep, // talkback joins file names to it without a separator
  record: talkback.Options.RecordMode.DISABLED,
  fallbackMode: talkback.Options.FallbackMode.NOT_FOUND,
  // Added to talkback's own ["content-length", "host"]: what wrk (Host only) and the driver's
  // http.client probe (Host, Accept-Encoding) send that the tape does not hold; the tape's
  // request headers are {}, so a request matches on method, URL and (empty) body.
  ignoreHeaders: ["accept-encoding", "accept", "user-agent", "connection"],
  silent: true,
  summary: false,
});

server.start(() => {
  const tapeCount = server.tapeStore.tapes.length;
  if (tapeCount === 0) {
    console.error(`talkback: no tapes loaded from ${tapes}`);
    process.exit(1);
  }
  console.error(`talkback ${require("talkback/package.json").version} on port ${port}, ${tapeCount} tape(s)`);
});
