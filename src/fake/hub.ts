/**
 * A loopback fake of the Hugging Face Hub: the endpoints `@huggingface/hub` calls to create a
 * repository, read its commits and tree, preupload, send LFS objects (basic transfer, the
 * checksum verified) and make one NDJSON commit pinned to a parent. Strict where the Hub is: a
 * bad token is 401, no write access 403, a missing repository 404, a parent that is not the head
 * 412. Repositories live as long as the fake does.
 */
import { close, listen } from "./listen.ts";
import { createHash } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readBody, type Fault } from "./server.ts";

export interface HubUser {
  token: string;
  name: string;
  orgs?: string[];
  /** A read token may read what its user sees and write nothing. */
  role?: "read" | "write";
}

/** A fault as the fake OpenAI takes it, or a request never answered. */
export interface HubFault extends Omit<Fault, "echoAuthorization"> {
  /** Never answer (after handling the request, with `afterHandling`): `hung` says when it happened. */
  hang?: boolean;
}

export interface FakeHubOptions {
  port?: number;
  users?: HubUser[];
  /** Namespaces that exist but belong to nobody above (their repositories are refused with 403). */
  otherNamespaces?: string[];
  faults?: HubFault[];
  /** Called as each request arrives, before it is handled: a test's other writer acts there. */
  onRequest?: (request: { method: string; path: string }) => void;
}

export const FAKE_HUB_TOKEN = "hf_fakeWriteToken0000";
export const FAKE_HUB_READ_TOKEN = "hf_fakeReadToken00000";

interface FileEntry {
  size: number;
  /** Git blob id of what git holds: the content, or an LFS pointer. */
  oid: string;
  content?: Buffer;
  lfs?: { oid: string; size: number; pointerSize: number };
}

export interface HubCommit {
  id: string;
  title: string;
  message: string;
  date: string;
  files: Map<string, FileEntry>;
}

export interface HubRepo {
  type: string;
  name: string;
  private: boolean;
  /** Newest last. */
  commits: HubCommit[];
  lfs: Map<string, Buffer>;
}

const GITATTRIBUTES = ["*.parquet", "*.arrow", "*.bin", "*.gz", "*.zip", "*.zst", "*.npy", "*.pt"]
  .map((p) => `${p} filter=lfs diff=lfs merge=lfs -text`)
  .join("\n");

/** Above this, a file goes through LFS whatever its name (the Hub's 10 MB rule). */
const LFS_FROM_BYTES = 10 * 1024 * 1024;

class HubError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const gitOid = (content: Buffer) =>
  createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
const sha256 = (content: Buffer) => createHash("sha256").update(content).digest("hex");

export class FakeHub {
  readonly repos = new Map<string, HubRepo>();
  /** Commits made through the commit endpoint (a repository's first is not one). */
  commitCount = 0;
  /** Every LFS object received, by its sha256, in order. */
  readonly lfsUploads: string[] = [];
  readonly requests: { method: string; path: string }[] = [];
  private server?: Server;
  private base = "";
  private readonly users: HubUser[];
  private hangs: ((request: string) => void)[] = [];
  private hungRequests: ServerResponse[] = [];

  private readonly options: FakeHubOptions;

  constructor(options: FakeHubOptions = {}) {
    this.options = options;
    this.users = options.users ?? [
      { token: FAKE_HUB_TOKEN, name: "synthai-user", orgs: ["synthai-org"], role: "write" },
      { token: FAKE_HUB_READ_TOKEN, name: "reader", role: "read" },
    ];
  }

  async start(): Promise<string> {
    const { server, address } = await listen((req, res) => void this.handle(req, res), this.options.port);
    this.server = server;
    this.base = address;
    return this.base;
  }

  async stop(): Promise<void> {
    for (const res of this.hungRequests) res.destroy();
    await close(this.server);
  }

  /** Resolves when a `hang` fault has caught a request. */
  hung(): Promise<string> {
    return new Promise((resolve) => this.hangs.push(resolve));
  }

  /** A file of a repository's head, LFS resolved. */
  file(repo: string, path: string, type = "dataset"): Buffer | undefined {
    const r = this.repos.get(`${type}s/${repo}`);
    const entry = r?.commits.at(-1)!.files.get(path);
    return entry && (entry.content ?? r!.lfs.get(entry.lfs!.oid));
  }

  /** A repository made outside the push under test (another tool's, a model of the same name). */
  addRepo(type: string, name: string, files: Record<string, string> = {}, isPrivate = false): HubRepo {
    const repo: HubRepo = { type, name, private: isPrivate, commits: [], lfs: new Map() };
    const entries = new Map<string, FileEntry>();
    for (const [path, text] of Object.entries({ ".gitattributes": GITATTRIBUTES, ...files })) {
      const content = Buffer.from(text);
      entries.set(path, { size: content.length, oid: gitOid(content), content });
    }
    this.appendCommit(repo, "initial commit", "", entries);
    this.repos.set(`${type}s/${name}`, repo);
    return repo;
  }

  /** A commit by another writer: these files added to the head's. */
  commitFiles(name: string, files: Record<string, string>, type = "dataset"): string {
    const repo = this.repos.get(`${type}s/${name}`)!;
    const entries = new Map(repo.commits.at(-1)!.files);
    for (const [path, text] of Object.entries(files)) {
      const content = Buffer.from(text);
      entries.set(path, { size: content.length, oid: gitOid(content), content });
    }
    return this.appendCommit(repo, "another writer's commit", "", entries);
  }

  private appendCommit(repo: HubRepo, title: string, description: string, files: Map<string, FileEntry>) {
    const id = createHash("sha1")
      .update(`${repo.name}:${repo.commits.length}:${title}:${Math.random()}`)
      .digest("hex");
    const message = description ? `${title}\n\n${description}` : title;
    repo.commits.push({ id, title, message, date: new Date().toISOString(), files });
    return id;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.base);
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname });
    this.options.onRequest?.({ method, path: url.pathname });
    const fault = this.options.faults?.find(
      (f) => f.times > 0 && f.method === method && f.path.test(url.pathname),
    );
    if (fault) fault.times--;
    try {
      const body = await readBody(req);
      if (fault && !fault.afterHandling && !fault.hang) throw faultError(fault, res);
      const answer = fault?.hang && !fault.afterHandling ? undefined : this.route(method, url, req, body);
      if (fault?.hang) {
        this.hungRequests.push(res);
        for (const resolve of this.hangs.splice(0)) resolve(`${method} ${url.pathname}`);
        return;
      }
      if (fault) throw faultError(fault, res);
      send(res, answer!);
    } catch (caught) {
      const error =
        caught instanceof HubError
          ? caught
          : new HubError(caught instanceof SyntaxError ? 400 : 500, (caught as Error).message);
      const headers: Record<string, string> = error.code ? { "X-Error-Code": error.code } : {};
      send(res, { status: error.status, body: { error: error.message }, headers });
    }
  }

  private route(method: string, url: URL, req: IncomingMessage, body: Buffer): Answer {
    const user = this.userOf(req);
    const path = url.pathname;
    if (method === "POST" && path === "/api/repos/create")
      return this.create(user, JSON.parse(body.toString()));
    // Who a token belongs to (huggingface.js who-am-i.ts): a token the Hub does not know is a 401.
    if (method === "GET" && path === "/api/whoami-v2") {
      if (!user) throw new HubError(401, "Invalid username or password.");
      const orgs = (user.orgs ?? []).map((name) => ({ type: "org", name }));
      const accessToken = { displayName: "synthai", role: user.role ?? "write" };
      return { body: { type: "user", name: user.name, orgs, auth: { type: "access_token", accessToken } } };
    }
    let m =
      /^\/api\/(models|datasets|spaces)\/([^/]+\/[^/]+)\/(commits|tree|preupload|commit)\/([^/]+)(\/.*)?$/.exec(
        path,
      );
    if (m) {
      const repo = this.readable(user, m[1]!, m[2]!);
      const revision = decodeURIComponent(m[4]!);
      if (m[3] === "commits" && method === "GET") return this.commits(repo, revision, url);
      if (m[3] === "tree" && method === "GET") return this.tree(repo, revision, m[5]?.slice(1), url);
      this.writable(user, repo);
      if (m[3] === "preupload" && method === "POST") return this.preupload(repo, JSON.parse(body.toString()));
      if (m[3] === "commit" && method === "POST") return this.commit(repo, body);
    }
    m = /^\/(?:(datasets|spaces)\/)?([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path);
    if (m && method === "POST") {
      const repo = this.readable(user, m[1] ?? "models", m[2]!);
      this.writable(user, repo);
      return this.lfsBatch(repo, JSON.parse(body.toString()));
    }
    m = /^\/__lfs\/(models|datasets|spaces)\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(path);
    if (m && method === "PUT") return this.lfsUpload(this.repos.get(`${m[1]}/${m[2]}`)!, m[3]!, url, body);
    m = /^\/(?:(datasets|spaces)\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m && method === "GET") {
      const repo = this.readable(user, m[1] ?? "models", m[2]!);
      return this.resolve(repo, decodeURIComponent(m[3]!), decodeURIComponent(m[4]!), req);
    }
    m = /^\/api\/(models|datasets|spaces)\/([^/]+\/[^/]+)$/.exec(path);
    if (m && method === "GET") {
      const repo = this.readable(user, m[1]!, m[2]!);
      return { body: { id: repo.name, private: repo.private, sha: repo.commits.at(-1)!.id } };
    }
    throw new HubError(404, `Sorry, we can't find the page you are looking for: ${method} ${path}`);
  }

  private userOf(req: IncomingMessage): HubUser | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const user = this.users.find((u) => header === `Bearer ${u.token}`);
    if (!user) throw new HubError(401, "Invalid credentials in Authorization header");
    return user;
  }

  private owns(user: HubUser | undefined, namespace: string): boolean {
    return Boolean(user && (user.name === namespace || user.orgs?.includes(namespace)));
  }

  /** What a caller may see: a private repository of someone else is as missing as one that is not there. */
  private readable(user: HubUser | undefined, types: string, name: string): HubRepo {
    const repo = this.repos.get(`${types}/${name}`);
    if (!repo || (repo.private && !this.owns(user, name.split("/")[0]!)))
      throw new HubError(404, "Repository not found", "RepoNotFound");
    return repo;
  }

  private writable(user: HubUser | undefined, repo: HubRepo): void {
    if (!user) throw new HubError(401, "You must be authenticated to write to this repository");
    if (!this.owns(user, repo.name.split("/")[0]!) || user.role !== "write")
      throw new HubError(403, `You don't have the rights to write to ${repo.type}s/${repo.name}`);
  }

  private create(
    user: HubUser | undefined,
    payload: { name?: string; organization?: string; type?: string; visibility?: string; private?: boolean },
  ): Answer {
    if (!user) throw new HubError(401, "You must be authenticated to create a repository");
    const namespace = payload.organization ?? user.name;
    const known = this.users.some((u) => u.name === namespace || u.orgs?.includes(namespace));
    if (!known && !this.options.otherNamespaces?.includes(namespace))
      throw new HubError(404, `Namespace ${namespace} not found`);
    if (!this.owns(user, namespace) || user.role !== "write")
      throw new HubError(
        403,
        `You don't have the rights to create a ${payload.type ?? "model"} under ${namespace}`,
      );
    if (!payload.name || !/^[\w.-]{1,96}$/.test(payload.name))
      throw new HubError(400, "Invalid repository name");
    const type = payload.type ?? "model";
    const name = `${namespace}/${payload.name}`;
    if (this.repos.has(`${type}s/${name}`))
      throw new HubError(409, `You already created this ${type} repo`, undefined);
    this.addRepo(type, name, {}, payload.visibility === "private" || payload.private === true);
    const prefix = type === "model" ? "" : `${type}s/`;
    return { body: { url: `${this.base}/${prefix}${name}`, name, id: name } };
  }

  private revisionOf(repo: HubRepo, revision: string): HubCommit {
    const commit =
      revision === "main" || revision === "HEAD"
        ? repo.commits.at(-1)
        : repo.commits.find((c) => c.id === revision);
    if (!commit) throw new HubError(404, `Invalid rev id: ${revision}`, "RevisionNotFound");
    return commit;
  }

  private commits(repo: HubRepo, revision: string, url: URL): Answer {
    const head = this.revisionOf(repo, revision);
    const limit = Number(url.searchParams.get("limit") ?? 100);
    const upTo = repo.commits.indexOf(head);
    const list = repo.commits
      .slice(0, upTo + 1)
      .reverse()
      .slice(0, limit)
      .map((c) => ({ id: c.id, title: c.title, message: c.message, date: c.date, authors: [] }));
    return { body: list };
  }

  private tree(repo: HubRepo, revision: string, under: string | undefined, url: URL): Answer {
    const commit = this.revisionOf(repo, revision);
    const prefix = under ? `${under.replace(/\/$/, "")}/` : "";
    const recursive = url.searchParams.get("recursive") === "true";
    const entries: unknown[] = [];
    const folders = new Set<string>();
    for (const [path, file] of [...commit.files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length).split("/");
      for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth++)
        folders.add(prefix + rest.slice(0, depth).join("/"));
      if (rest.length > 1 && !recursive) continue;
      entries.push({
        type: "file",
        path,
        size: file.size,
        oid: file.oid,
        ...(file.lfs ? { lfs: file.lfs } : {}),
      });
    }
    if (under && !entries.length && !folders.size)
      throw new HubError(404, `${under} not found`, "EntryNotFound");
    for (const folder of folders)
      entries.push({ type: "directory", path: folder, size: 0, oid: gitOid(Buffer.from(folder)) });
    return { body: entries };
  }

  private lfsPatterns(repo: HubRepo): RegExp[] {
    const text = repo.commits.at(-1)!.files.get(".gitattributes")?.content?.toString() ?? "";
    return text
      .split("\n")
      .filter((line) => line.includes("filter=lfs"))
      .map((line) => line.split(/\s+/)[0]!)
      .map(
        (glob) => new RegExp(`(^|/)${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`),
      );
  }

  private preupload(
    repo: HubRepo,
    payload: { files?: { path: string; size: number; sample: string }[] },
  ): Answer {
    if (!Array.isArray(payload.files)) throw new HubError(400, "files: expected an array");
    const patterns = this.lfsPatterns(repo);
    const files = payload.files.map((f) => {
      const binary = Buffer.from(f.sample, "base64").includes(0);
      const lfs = f.size >= LFS_FROM_BYTES || binary || patterns.some((p) => p.test(f.path));
      return { path: f.path, uploadMode: lfs ? "lfs" : "regular", shouldIgnore: false };
    });
    return { body: { files, commitOid: repo.commits.at(-1)!.id } };
  }

  private lfsBatch(
    repo: HubRepo,
    payload: { operation?: string; objects?: { oid: string; size: number }[]; hash_algo?: string },
  ): Answer {
    if (payload.operation !== "upload" || !Array.isArray(payload.objects))
      throw new HubError(422, "operation upload with objects expected");
    const objects = payload.objects.map(({ oid, size }) => {
      if (!/^[0-9a-f]{64}$/.test(oid)) return { oid, size, error: { code: 422, message: "Invalid oid" } };
      // An object the Hub holds already gets no upload action: the client sends it no more.
      if (repo.lfs.has(oid)) return { oid, size };
      const href = `${this.base}/__lfs/${repo.type}s/${repo.name}/${oid}?size=${size}`;
      return { oid, size, authenticated: true, actions: { upload: { href, expires_in: 3600 } } };
    });
    return {
      body: { transfer: "basic", objects },
      headers: { "Content-Type": "application/vnd.git-lfs+json" },
    };
  }

  private lfsUpload(repo: HubRepo, oid: string, url: URL, body: Buffer): Answer {
    if (!repo) throw new HubError(404, "Repository not found");
    if (sha256(body) !== oid || String(body.length) !== url.searchParams.get("size"))
      throw new HubError(400, "The uploaded content does not match its oid and size");
    repo.lfs.set(oid, body);
    this.lfsUploads.push(oid);
    return { body: {}, headers: { ETag: `"${oid}"` } };
  }

  private commit(repo: HubRepo, body: Buffer): Answer {
    const lines = body
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; value: Record<string, any> });
    const header = lines[0];
    if (header?.key !== "header" || typeof header.value.summary !== "string")
      throw new HubError(400, "The first line must be the header, with a summary");
    const head = repo.commits.at(-1)!;
    if (header.value.parentCommit !== undefined && header.value.parentCommit !== head.id)
      throw new HubError(412, "A commit has happened since. Please refresh and try again.");
    const files = new Map(head.files);
    for (const { key, value } of lines.slice(1)) {
      if (typeof value.path !== "string" || value.path.startsWith("/") || value.path.includes(".."))
        throw new HubError(400, `Invalid path in ${key}`);
      if (key === "file") {
        if (value.encoding !== "base64") throw new HubError(400, "file: encoding must be base64");
        const content = Buffer.from(value.content, "base64");
        files.set(value.path, { size: content.length, oid: gitOid(content), content });
      } else if (key === "lfsFile") {
        if (
          value.algo !== "sha256" ||
          !repo.lfs.has(value.oid) ||
          repo.lfs.get(value.oid)!.length !== value.size
        )
          throw new HubError(422, `LFS object ${value.oid} of ${value.path} was never uploaded`);
        const pointer = Buffer.from(
          `version https://git-lfs.github.com/spec/v1\noid sha256:${value.oid}\nsize ${value.size}\n`,
        );
        const lfs = { oid: value.oid, size: value.size, pointerSize: pointer.length };
        files.set(value.path, { size: value.size, oid: gitOid(pointer), lfs });
      } else if (key === "deletedFile") {
        if (!files.delete(value.path))
          throw new HubError(404, `File not found: ${value.path}`, "EntryNotFound");
      } else if (key === "deletedFolder") {
        for (const path of [...files.keys()]) if (path.startsWith(`${value.path}/`)) files.delete(path);
      } else throw new HubError(400, `Unknown operation ${key}`);
    }
    const id = this.appendCommit(repo, header.value.summary, header.value.description ?? "", files);
    this.commitCount++;
    const prefix = repo.type === "model" ? "" : `${repo.type}s/`;
    return {
      body: {
        success: true,
        commitOid: id,
        commitUrl: `${this.base}/${prefix}${repo.name}/commit/${id}`,
        hookOutput: "",
      },
    };
  }

  private resolve(repo: HubRepo, revision: string, path: string, req: IncomingMessage): Answer {
    const entry = this.revisionOf(repo, revision).files.get(path);
    if (!entry) throw new HubError(404, "Entry not found", "EntryNotFound");
    const content = entry.content ?? repo.lfs.get(entry.lfs!.oid)!;
    const headers = { ETag: `"${entry.lfs?.oid ?? entry.oid}"`, "Accept-Ranges": "bytes" };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (!range) return { raw: content, headers };
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : content.length - 1, content.length - 1);
    return {
      status: 206,
      raw: content.subarray(start, end + 1),
      headers: { ...headers, "Content-Range": `bytes ${start}-${end}/${content.length}` },
    };
  }
}

interface Answer {
  status?: number;
  body?: unknown;
  raw?: Buffer;
  headers?: Record<string, string>;
}

function faultError(fault: HubFault, res: ServerResponse): HubError {
  if (fault.retryAfter !== undefined) res.setHeader("Retry-After", String(fault.retryAfter));
  const text =
    fault.status === 429 ? "You have exceeded our hourly quotas for action: commit" : "Gateway Timeout";
  return new HubError(fault.status, text);
}

function send(res: ServerResponse, { status = 200, body, raw, headers = {} }: Answer) {
  res.writeHead(status, {
    "Content-Type": raw ? "application/octet-stream" : "application/json",
    ...headers,
  });
  res.end(raw ?? JSON.stringify(body ?? {}));
}
