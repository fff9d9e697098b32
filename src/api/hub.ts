// The Hugging Face Hub through its official client, `@huggingface/hub`: a dataset repository's
// head, tree and files, and one commit pinned to a parent. Its failures are classified here, once:
// what the person must fix is a one-line UserError; what may pass says so, and how long to wait.
import { UserError, cliName, givenAs, redact, type OptionNamer } from "../errors.ts";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export interface HubTarget {
  /** `namespace/name` of a dataset repository. */
  repo: string;
  hubUrl: string;
  token: string;
  /** How the caller gives a token, for the hint of a refused one: the CLI's --hf-token, the library's token. */
  tokenOption?: string;
}

/** A file of the tree: its git blob id, and for an LFS file the sha256 of its content. */
export interface RemoteFile {
  path: string;
  size: number;
  oid: string;
  lfsOid?: string | undefined;
}

export type HubOperation =
  { operation: "addOrUpdate"; path: string; content: Blob } | { operation: "delete"; path: string };

/** A failure that may pass: rate limited (wait `retryAfterMs`), or the Hub or network failing. */
export class HubTransient extends UserError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super(message, "push again later", 3);
    this.transient = true;
    this.resumable = false;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The branch moved past the parent the commit was pinned to. */
export class HubConflict extends UserError {}

/**
 * `--push`'s repository: `namespace/name` or `datasets/namespace/name`; any other kind is refused,
 * in a line that names the option as `as` says (the CLI's flag, the library's option).
 */
export function datasetRepoName(text: string, as: OptionNamer = cliName): string {
  const kind = /^(models|spaces|buckets|kernels)\/|^(model|space|dataset)\//.exec(text);
  if (kind)
    throw new UserError(
      `${givenAs(as, "push", text)} names a ${kind[1] ?? kind[2]} repository, and synthai pushes datasets`,
      `name a dataset repository: ${givenAs(as, "push", "namespace/name")}`,
    );
  const name = text.replace(/^datasets\//, "");
  if (!/^[\w.-]+\/[\w.-]+$/.test(name))
    throw new UserError(
      `${givenAs(as, "push", text)} is not namespace/name`,
      `e.g. ${givenAs(as, "push", "my-org/my-dataset")}`,
    );
  return name;
}

/** Seconds or an HTTP date, as Retry-After says; undefined when it says neither. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The client, loaded when a push starts (an export without one never loads it). */
export async function hubClient(target: HubTarget) {
  const { commit, createRepo, downloadFile, HubApiError, listCommits, listFiles, repoExists, whoAmI } =
    await import("@huggingface/hub");
  const repo = { type: "dataset" as const, name: target.repo };
  let retryAfter: number | undefined;
  // The client keeps no response headers in its errors: Retry-After is read on the way past.
  const fetcher: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 429) retryAfter = retryAfterMs(response.headers.get("retry-after"));
    return response;
  };
  const common = { repo, hubUrl: target.hubUrl, accessToken: target.token, fetch: fetcher };
  const classified = async <T>(call: () => Promise<T>): Promise<T> => {
    retryAfter = undefined;
    try {
      return await call();
    } catch (error) {
      throw classify(error instanceof HubApiError ? error : undefined, error, target, retryAfter);
    }
  };
  return {
    /**
     * Asks the Hub whose the token is, before anything is written: a token it refuses (401) is
     * said at once. A Hub that is down is no answer: the push tries again later.
     */
    check: () =>
      classified(() => whoAmI(common)).catch((error) => {
        if (!(error instanceof HubTransient)) throw error;
      }),
    /** Creates the repository; one that is there already is fine. */
    ensureRepo: (isPrivate: boolean) =>
      classified(async () => {
        // Looked for first: a token that may write to one repository need not be able to create one.
        if (await repoExists(common)) return false;
        try {
          await createRepo({ ...common, ...(isPrivate ? { visibility: "private" as const } : {}) });
          return true;
        } catch (error) {
          if (error instanceof HubApiError && error.statusCode === 409) return false;
          throw error;
        }
      }),
    /** The id of the branch's newest commit. */
    head: () =>
      classified(async () => {
        for await (const c of listCommits({ ...common, batchSize: 1 })) return c.oid;
        throw new UserError(`the Hub lists no commit in ${target.repo}`, "push again");
      }),
    tree: (revision: string) =>
      classified(async () => {
        const files: RemoteFile[] = [];
        for await (const entry of listFiles({ ...common, revision, recursive: true }))
          if (entry.type === "file")
            files.push({ path: entry.path, size: entry.size, oid: entry.oid!, lfsOid: entry.lfs?.oid });
        return files;
      }),
    readText: (path: string, revision: string) =>
      classified(async () => (await downloadFile({ ...common, path, revision, xet: false }))?.text()),
    commit: (operations: HubOperation[], parentCommit: string, title: string, description: string) =>
      classified(async () => {
        const made = await commit({ ...common, operations, parentCommit, title, description, useXet: false });
        return made?.commit.oid;
      }),
  };
}

export type HubClient = Awaited<ReturnType<typeof hubClient>>;

/** One line for what the person must do; transient for what may pass. */
export function classify(
  api: { statusCode: number; message: string } | undefined,
  error: unknown,
  target: HubTarget,
  retryAfter: number | undefined,
): Error {
  if (error instanceof UserError) return error;
  const where = `${target.repo} on ${target.hubUrl}`;
  if (api) {
    const said = redact(firstLine(api.message), [target.token]);
    switch (api.statusCode) {
      case 401:
        return new UserError(
          `the Hub refused the token (401) for ${where}`,
          `set HF_TOKEN (or ${target.tokenOption ?? "--hf-token"}) to a valid token from your Hub settings (Access Tokens)`,
        );
      case 403:
        return new UserError(
          `the token may not write to ${where} (403)`,
          "use a token with write access to that namespace, or push to a namespace of yours",
        );
      case 404:
        return new UserError(
          `the Hub has no ${where} that this token can see (404)`,
          "check the namespace and name, the token's access, and --hub-url",
        );
      case 409:
      case 412:
        return new HubConflict(`${where} changed during the push (${api.statusCode})`, "push again");
      case 429:
        return new HubTransient(`the Hub is rate-limiting ${where} (429): ${said}`, retryAfter);
    }
    if (api.statusCode >= 500)
      return new HubTransient(`the Hub failed (${api.statusCode}): ${said}`, undefined);
    return new UserError(
      `the Hub refused the push to ${where} (${api.statusCode}): ${said}`,
      "see the message",
    );
  }
  if (error instanceof TypeError && /fetch failed/.test(error.message))
    return new HubTransient(
      `cannot reach ${target.hubUrl}: ${redact(String(error.cause ?? error.message), [target.token])}`,
      undefined,
    );
  if (error instanceof TypeError && /access token/.test(error.message))
    return new UserError(
      "the Hub token does not look like one (tokens start with hf_)",
      `set HF_TOKEN (or ${target.tokenOption ?? "--hf-token"}) to a token from your Hub settings`,
    );
  return error as Error;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.replace(/\. URL: .*$/, "");
}
