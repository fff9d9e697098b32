// `synthai export <run> --push namespace/name`: the `--hf` folder, sent to the Hugging Face Hub as
// one commit pinned to the head it read. Every try reads the repository again first, so a commit
// that landed behind a failed answer (a 504, a killed process) is found, never made twice.
import { createHash } from "node:crypto";
import { createReadStream, openAsBlob } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import matter from "gray-matter";
import { UserError, cliName, givenAs, type OptionNamer } from "../errors.ts";
import {
  DEFAULT_HUB_URL,
  datasetRepoName,
  HubConflict,
  HubTransient,
  hubClient,
  type HubClient,
  type HubOperation,
  type HubTarget,
  type RemoteFile,
} from "../api/hub.ts";
import type { Log } from "../io/log.ts";
import { writeFileAtomic } from "../io/disk.ts";
import { committedThen, type Destination } from "./export.ts";
import type { HfMade } from "./export-hf.ts";

export interface LocalFile {
  path: string;
  size: number;
  /** Git's blob id, as the tree gives a regular file's. */
  oid: string;
  /** As the tree gives an LFS file's. */
  sha256: string;
}

/** Folders of the repository that a push owns: a file there that it no longer makes goes. */
const OWNED_FOLDERS = ["data/", "synthai/"];

/** Tries of one push, each after reading the repository again. */
const MAX_TRIES = 6;

export interface PushResult {
  /** The commit made, or found to have landed; undefined when the repository held it all already. */
  commit?: string | undefined;
  added: string[];
  deleted: string[];
  created: boolean;
  /** The commit was found in the repository after its answer was lost. */
  landed?: boolean;
}

/** What one commit does: each file that differs from the tree, and each owned file no longer made. */
export function planCommit(local: LocalFile[], remote: RemoteFile[]): { add: string[]; remove: string[] } {
  const there = new Map(remote.map((r) => [r.path, r]));
  const add = local
    .filter((l) => {
      const r = there.get(l.path);
      return !r || (r.lfsOid ? r.lfsOid !== l.sha256 : r.oid !== l.oid);
    })
    .map((l) => l.path);
  const made = new Set(local.map((l) => l.path));
  const remove = remote
    .filter((r) => OWNED_FOLDERS.some((f) => r.path.startsWith(f)) && !made.has(r.path))
    .map((r) => r.path);
  return { add, remove };
}

/** Front matter read as data only: gray-matter would run a `---js` card's code (a repository's card is anyone's). */
const DATA_ONLY = {
  engines: { javascript: { parse: () => ({}) }, js: { parse: () => ({}) } },
} as never;

/**
 * The card to push: synthai's metadata and text, with every key of the repository's card that
 * synthai does not write kept, and its tags beside synthai's. The same inputs give the same bytes.
 */
export function mergeCard(local: string, remote: string | undefined): string {
  if (remote === undefined) return local;
  const ours = matter(local, DATA_ONLY);
  const theirs = matter(remote, DATA_ONLY).data as Record<string, unknown>;
  const kept = Object.fromEntries(Object.entries(theirs).filter(([key]) => !(key in ours.data)));
  const tags = [
    ...new Set([...asList(ours.data.tags), ...asList(theirs.tags)].filter((t) => typeof t === "string")),
  ];
  const merged = { ...ours.data, ...kept, ...(tags.length ? { tags } : {}) };
  return matter.stringify(ours.content, merged);
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value ? [value] : []);

/** Every file of the folder, with the two hashes the Hub's tree is compared by. */
export async function localFiles(dir: string): Promise<LocalFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Promise.all(
    files
      .sort()
      .map(async (file) => ({ path: relative(dir, file).split("\\").join("/"), ...(await hashes(file)) })),
  );
}

async function hashes(file: string): Promise<{ size: number; oid: string; sha256: string }> {
  const { size } = await stat(file);
  // Git's blob id starts with the size: one pass makes both hashes.
  const git = createHash("sha1").update(`blob ${size}\0`);
  const sha = createHash("sha256");
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    git.update(chunk);
    sha.update(chunk);
  }
  return { size, oid: git.digest("hex"), sha256: sha.digest("hex") };
}

/** Pushes DIR (an `--hf` folder) to the repository as one commit; the repository is made when missing. */
export async function pushToHub(
  dir: string,
  target: HubTarget & { private: boolean; title: string; description: string },
  log: Log,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<PushResult> {
  const hub = await hubClient(target);
  let created: boolean | undefined;
  let sent: { added: string[]; deleted: string[] } | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      if (created === undefined) {
        created = await hub.ensureRepo(target.private);
        if (created) log(`created dataset repository ${target.repo}${target.private ? " (private)" : ""}`);
        else if (target.private)
          log(`warning: ${target.repo} already exists: --private leaves it as visible as it is`);
      }
      const result = await pushOnce(dir, hub, target, (plan) => (sent = plan));
      // Nothing left to send after a commit was sent: it landed behind a failed answer.
      if (!result.commit && sent) return { ...sent, commit: await hub.head(), created, landed: true };
      return { ...result, created };
    } catch (error) {
      if (!(error instanceof HubTransient || error instanceof HubConflict) || attempt >= MAX_TRIES)
        throw error;
      const wait = error instanceof HubTransient ? (error.retryAfterMs ?? 1000 * 2 ** (attempt - 1)) : 0;
      log(
        `${error.message}; reading ${target.repo} again before another try` +
          (wait ? ` in ${Math.ceil(wait / 1000)} s` : ""),
      );
      await sleep(wait);
    }
  }
}

async function pushOnce(
  dir: string,
  hub: HubClient,
  target: { title: string; description: string },
  sending: (plan: { added: string[]; deleted: string[] }) => void,
): Promise<Omit<PushResult, "created">> {
  const head = await hub.head();
  const remote = await hub.tree(head);
  if (remote.some((r) => r.path === "README.md")) {
    const card = join(dir, "README.md");
    const local = await readFile(card, "utf8");
    const merged = mergeCard(local, await hub.readText("README.md", head));
    // The folder keeps what is pushed, so the two stay the same files.
    if (merged !== local) writeFileAtomic(card, merged);
  }
  const { add, remove } = planCommit(await localFiles(dir), remote);
  if (!add.length && !remove.length) return { added: [], deleted: [] };
  const operations: HubOperation[] = [
    ...(await Promise.all(
      add.map(async (path) => ({
        operation: "addOrUpdate" as const,
        path,
        content: await openAsBlob(join(dir, path)),
      })),
    )),
    ...remove.map((path) => ({ operation: "delete" as const, path })),
  ];
  sending({ added: add, deleted: remove });
  const commit = await hub.commit(operations, head, target.title, target.description);
  return { commit, added: add, deleted: remove };
}

/** Where and how `--push` sends a run's dataset: resolved once, for the CLI and the library alike. */
export interface HubPush extends HubTarget {
  private: boolean;
}

/**
 * The flags (or library options) of a push, the token from them or HF_TOKEN; never written anywhere.
 * An error names an option as `name` says (the CLI's flag, the library's option).
 */
export function hubPushOf(
  options: {
    repo: string;
    token?: string | undefined;
    hubUrl?: string | undefined;
    private?: boolean | undefined;
  },
  name: OptionNamer = cliName,
): HubPush {
  const token = options.token || process.env.HF_TOKEN;
  if (!token)
    throw new UserError(
      `${name("--push")} needs a Hub token with write access`,
      `set HF_TOKEN (or pass ${name("--hf-token")}) to a token from your Hub settings (Access Tokens)`,
    );
  const hubUrl = (options.hubUrl || process.env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(hubUrl))
    throw new UserError(
      `${name("--hub-url")} ${hubUrl} is not an http(s) address`,
      `e.g. ${givenAs(name, "hub-url", "https://hub.example.com")}`,
    );
  const repo = datasetRepoName(options.repo, name);
  return { repo, token, hubUrl, private: Boolean(options.private), tokenOption: name("--hf-token") };
}

/**
 * The Hub as one more destination of the export loop: the HF folder's, whose commit is followed
 * by the push of the folder it made, as one commit.
 */
export function hubDestination(
  folder: Destination<HfMade>,
  push: HubPush,
  made: { runId: string; rows: (made: HfMade) => string },
  log: Log,
): Destination<HfMade> {
  const pushed = committedThen(folder, async (result) => {
    await pushExport(result.dir, push, { runId: made.runId, rows: made.rows(result) }, log);
  });
  return {
    ...pushed,
    // A token the Hub refuses is said before the folder is written.
    open: async () => {
      await (await hubClient(push)).check();
      await folder.open();
    },
  };
}

/** Pushes an exported folder and says what happened, in one line. */
export async function pushExport(
  dir: string,
  push: HubPush,
  made: { runId: string; rows: string },
  log: Log,
) {
  const result = await pushToHub(
    dir,
    {
      ...push,
      title: `synthai: dataset of run ${made.runId}`,
      description: `Exported by synthai from run ${made.runId} (${made.rows}), as one commit.`,
    },
    log,
  );
  const where = `${push.hubUrl}/datasets/${push.repo}`;
  log(
    result.commit
      ? `pushed run ${made.runId} → ${where} (commit ${result.commit.slice(0, 7)}: ` +
          `${result.added.length} files added or changed, ${result.deleted.length} deleted)` +
          (result.landed ? "; found in the repository after its answer was lost" : "")
      : `${where} already holds this export of run ${made.runId}: nothing to commit`,
  );
  return result;
}
