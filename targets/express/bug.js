// The bug switch (read from the environment, see targets/README.md) and the one place where the
// caller's identity crosses an await: the shared "current user" holder and its correct twin.
//
// Node runs one request at a time on its event loop, but an `await` hands the loop to the next
// request. A module-level `current.user`, set by a request and read back after an await, holds
// whoever set it last: that is the race (the pattern of a per-process "request context" or a
// singleton service that keeps the caller in a field). The twin keeps the caller in a local.

"use strict";

// Which step reads the caller back from the shared holder, per mode (every step stores it).
//   guard-owner:     the owner guard (every authenticated route): a misattributed request is
//                    refused with 403, the caller's own create, list, read, update and delete
//                    included;
//   shared-identity: the create handler stores the record under the shared caller; its answer
//                    shows no owner, so the race shows on a later step (the owner's read, the
//                    other user's list);
//   probe-leak:      the read handler checks the record's owner against the shared caller: a
//                    probe of another user's record is answered 200 with that record.
const MODES = {
  "guard-owner": "guard",
  "shared-identity": "create",
  "probe-leak": "read",
};

function log(message) {
  process.stderr.write(`target: ${message}\n`);
}

class BugSwitch {
  constructor(env = process.env) {
    const bug = (env.RACEBENCH_BUG || "").trim();
    if (bug && !(bug in MODES)) {
      throw new Error(
        `RACEBENCH_BUG=${JSON.stringify(bug)}: unknown bug (known: ${Object.keys(MODES).join(", ")})`,
      );
    }
    this.bug = bug;
    this.racyStep = bug ? MODES[bug] : null;
    this.windowMs = Number.parseInt(env.RACEBENCH_BUG_WINDOW || "20", 10);
    this.barrierParties = Number.parseInt(env.RACEBENCH_BARRIER || "0", 10);
    this.barrierTimeoutMs = Number.parseFloat(env.RACEBENCH_BARRIER_TIMEOUT || "10") * 1000;
    this.arrivals = 0;
    this.waiting = [];
    // The shared holder: ONE object for the whole process (the bug).
    this.current = { user: null };
  }

  describe() {
    if (!this.bug) {
      return `correct (caller kept per request; window ${this.windowMs} ms)`;
    }
    const barrier = this.barrierParties > 1 ? `, barrier ${this.barrierParties}` : "";
    return `RACEBENCH_BUG=${this.bug} (window ${this.windowMs} ms${barrier})`;
  }

  // The caller of `req` as `step` sees it after the pause. With the bug on, every request stores
  // its caller in the shared holder (the authentication middleware's habit), and the racy step
  // reads the holder back after its await: whoever stored last. The twin pauses just as long and
  // keeps the caller in a local (`req.user`).
  async caller(req, step) {
    if (this.bug) {
      this.current.user = req.user;
    }
    await this.pause();
    return step === this.racyStep ? this.current.user : req.user;
  }

  // The window: the first K requests that reach it wait for each other first (the barrier
  // forces the interleaving: all K store their caller before any reads it back).
  async pause() {
    if (this.barrierParties > 1 && this.arrivals < this.barrierParties) {
      this.arrivals += 1;
      await this.barrier();
    }
    if (this.windowMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.windowMs));
    }
  }

  barrier() {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length >= this.barrierParties) {
        for (const release of this.waiting.splice(0)) release();
        return;
      }
      setTimeout(() => {
        if (this.waiting.includes(resolve)) {
          log("barrier timed out: going on without it");
          for (const release of this.waiting.splice(0)) release();
        }
      }, this.barrierTimeoutMs).unref();
    });
  }
}

module.exports = { BugSwitch, MODES, log };
