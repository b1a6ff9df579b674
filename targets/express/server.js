// Launches the Express target under the launcher contract of every racebench target
// (targets/README.md): binds 127.0.0.1 port 0, prints one `listening on http://127.0.0.1:PORT`
// line once it accepts connections, exits on SIGTERM and when its stdin closes.
//
//   node targets/express/server.js            # the correct twin
//   RACEBENCH_BUG=guard-owner node targets/express/server.js

"use strict";

const { createApp } = require("./app");
const { BugSwitch, log } = require("./bug");

function main() {
  let bug;
  try {
    bug = new BugSwitch();
  } catch (error) {
    log(error.message);
    process.exit(2);
  }
  const tokenTtlSeconds = Number.parseInt(process.env.RACEBENCH_TOKEN_TTL || "3600", 10);
  const app = createApp(bug, { tokenTtlSeconds });
  const server = app.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    log(`${bug.describe()}; tokens valid ${tokenTtlSeconds} s`);
    process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  });
  server.keepAliveTimeout = 60_000;
  const leave = () => process.exit(0);
  process.on("SIGTERM", leave);
  process.on("SIGINT", leave);
  // Exit when the parent is gone (its end of our stdin closes).
  process.stdin.on("end", () => {
    log("stdin closed: exiting");
    leave();
  });
  process.stdin.on("error", leave);
  process.stdin.resume();
}

main();
