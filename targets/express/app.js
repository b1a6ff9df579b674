// The Express app: accounts, JWT login, and posts whose owner is a client-set field checked by a
// guard middleware. In memory (one process, lost at exit). HTTP shapes: targets/README.md.
//
// Every authenticated request: `authenticate` verifies the JWT (req.user), then the `ownerGuard`
// (create and list only: the owner the client names must be the caller), then the handler. The
// guard and each handler learn the caller through `bug.caller(req, step)`, the one place where
// the switchable race lives (bug.js).

"use strict";

const crypto = require("node:crypto");
const express = require("express");
const jwt = require("jsonwebtoken");

function createApp(bug, options = {}) {
  const secret = crypto.randomBytes(32);
  const tokenTtl = options.tokenTtlSeconds || 3600;
  const users = new Map(); // id -> { id, username, password (sha256 hex) }
  const byName = new Map(); // username -> id
  const posts = new Map(); // id -> { id, title, body, ownerId, createdAt }

  const app = express();
  app.disable("x-powered-by");
  app.use(express.json());

  const hash = (password) => crypto.createHash("sha256").update(password).digest("hex");
  const publicUser = (user) => ({ id: user.id, username: user.username });
  const refuse = (res, status, detail) => res.status(status).json({ error: detail });

  app.post("/api/users", (req, res) => {
    const { username, password } = req.body || {};
    if (typeof username !== "string" || username.length < 1 || username.length > 150) {
      return refuse(res, 400, "username: 1 to 150 characters");
    }
    if (typeof password !== "string" || password.length < 8) {
      return refuse(res, 400, "password: at least 8 characters");
    }
    if (byName.has(username)) {
      return refuse(res, 409, "username taken");
    }
    const user = { id: crypto.randomUUID(), username, password: hash(password) };
    users.set(user.id, user);
    byName.set(username, user.id);
    return res.status(201).json(publicUser(user));
  });

  app.post("/api/login", (req, res) => {
    const { username, password } = req.body || {};
    const user = users.get(byName.get(username));
    if (!user || typeof password !== "string" || user.password !== hash(password)) {
      return refuse(res, 401, "wrong username or password");
    }
    const token = jwt.sign({ sub: user.id, name: user.username }, secret, {
      algorithm: "HS256",
      expiresIn: tokenTtl,
    });
    return res.json({ token, user: publicUser(user) });
  });

  // The JWT guard: a missing, bad or expired token is 401; req.user is the token's user.
  function authenticate(req, res, next) {
    const header = req.get("authorization") || "";
    const [scheme, token] = header.split(" ");
    if (scheme !== "Bearer" || !token) {
      return refuse(res, 401, "missing bearer token");
    }
    let claims;
    try {
      claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
    } catch (error) {
      return refuse(res, 401, error.name === "TokenExpiredError" ? "token expired" : "bad token");
    }
    const user = users.get(claims.sub);
    if (!user) {
      return refuse(res, 401, "unknown user");
    }
    req.user = publicUser(user);
    return next();
  }

  // The owner guard: the owner the client names (`claimed(req)`) must be the caller, else 403.
  function ownerGuard(claimed) {
    return async (req, res, next) => {
      const caller = await bug.caller(req, "guard");
      if (claimed(req) !== caller.id) {
        return refuse(res, 403, "you can only act for yourself");
      }
      return next();
    };
  }

  const view = (post) => ({ ...post });

  app.get("/api/me", authenticate, async (req, res) => {
    const caller = await bug.caller(req, "me");
    res.json(caller);
  });

  app.post(
    "/api/posts",
    authenticate,
    ownerGuard((req) => req.body && req.body.ownerId),
    async (req, res) => {
      const { title, body } = req.body;
      if (typeof title !== "string" || title.length < 1 || title.length > 255) {
        return refuse(res, 400, "title: 1 to 255 characters");
      }
      const caller = await bug.caller(req, "create");
      const post = {
        id: crypto.randomUUID(),
        title,
        body: typeof body === "string" ? body : "",
        ownerId: caller.id,
        createdAt: new Date().toISOString(),
      };
      posts.set(post.id, post);
      // The answer shows no owner: a misattributed create shows only on a later read or list.
      return res.status(201).json({ id: post.id, title: post.title, createdAt: post.createdAt });
    },
  );

  app.get(
    "/api/users/:userId/posts",
    authenticate,
    ownerGuard((req) => req.params.userId),
    async (req, res) => {
      const caller = await bug.caller(req, "list");
      const own = [...posts.values()].filter((post) => post.ownerId === caller.id).reverse();
      const limit = Math.min(Math.max(Number.parseInt(req.query.limit || "100", 10) || 100, 1), 1000);
      const offset = Math.max(Number.parseInt(req.query.offset || "0", 10) || 0, 0);
      res.json({ items: own.slice(offset, offset + limit).map(view), total: own.length });
    },
  );

  // One post of the caller's, or 404 (another user's post is not revealed to exist).
  async function ownPost(req, res, step) {
    const caller = await bug.caller(req, step);
    const post = posts.get(req.params.id);
    if (!post || post.ownerId !== caller.id) {
      refuse(res, 404, "no such post");
      return null;
    }
    return post;
  }

  app.get("/api/posts/:id", authenticate, async (req, res) => {
    const post = await ownPost(req, res, "read");
    if (post) res.json(view(post));
  });

  app.patch("/api/posts/:id", authenticate, async (req, res) => {
    const post = await ownPost(req, res, "update");
    if (!post) return;
    const { title, body } = req.body || {};
    if (title !== undefined) {
      if (typeof title !== "string" || title.length < 1 || title.length > 255) {
        return refuse(res, 400, "title: 1 to 255 characters");
      }
      post.title = title;
    }
    if (typeof body === "string") post.body = body;
    return res.json(view(post));
  });

  app.delete("/api/posts/:id", authenticate, async (req, res) => {
    const post = await ownPost(req, res, "delete");
    if (!post) return;
    posts.delete(post.id);
    res.status(204).end();
  });

  app.use((req, res) => refuse(res, 404, "no such route"));
  // A body that is not JSON is a 400 with the JSON error shape; anything else a 500.
  app.use((error, req, res, _next) => {
    if (error.type === "entity.parse.failed") {
      return refuse(res, 400, "body is not JSON");
    }
    process.stderr.write(`target: ${error.stack || error}\n`);
    return refuse(res, 500, "internal error");
  });
  return app;
}

module.exports = { createApp };
