// `--help`, laid out for where it goes: wrapped at the terminal's width (80 in a file or a pipe,
// where `less` and editors read it), coloured only on a terminal and never with NO_COLOR. The
// commands' flag definitions are the text, as citty reads them; only the layout is synthai's.
import type { ArgDef, ArgsDef, CommandDef } from "citty";

export interface HelpStyle {
  width: number;
  colour: boolean;
}

/** A command as help reads it: its meta, flags and subcommands (each loaded, or a stub with a meta). */
type Described = Pick<CommandDef<ArgsDef>, "meta" | "args" | "subCommands">;

/** Colour on a terminal only, unless NO_COLOR (any value) or TERM=dumb; the terminal's width, else 80. */
export function helpStyle(
  stream: { isTTY?: boolean; columns?: number } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): HelpStyle {
  const tty = Boolean(stream.isTTY);
  return {
    width: tty && stream.columns ? stream.columns : 80,
    colour: tty && !env.NO_COLOR && env.TERM !== "dumb",
  };
}

/** Words into lines of at most `width` characters; a word longer than a line is cut (after a `|` if it has one). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > width) {
      if (line) lines.push(line);
      // A list of choices (a|b|c) breaks after a bar where it can.
      const cut = word.lastIndexOf("|", width - 1) + 1 || width;
      lines.push(word.slice(0, cut));
      word = word.slice(cut);
      line = "";
    }
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line || lines.length === 0 ? [...lines, line] : lines;
}

const paint = (style: HelpStyle, open: string, close: string) => (text: string) =>
  style.colour ? `\x1b[${open}m${text}\x1b[${close}m` : text;

/**
 * Names and what they mean, as two columns: a name wider than a third of the line has its
 * meaning on the lines below it, so the meanings keep room to read.
 */
export function columns(rows: [string, string][], style: HelpStyle): string[] {
  const cyan = paint(style, "36", "39");
  const left = Math.min(Math.max(0, ...rows.map(([name]) => name.length)), Math.floor(style.width / 3));
  const indent = " ".repeat(left + 4);
  return rows.flatMap(([name, text]) => {
    const body = wrap(text, Math.max(20, style.width - indent.length));
    const names = wrap(name, style.width - 2).map((part) => `  ${cyan(part)}`);
    if (name.length > left) return [...names, ...body.map((line) => indent + line)];
    const first = `${names[0]}${" ".repeat(left - name.length + 2)}${body[0]}`.trimEnd();
    return [first, ...body.slice(1).map((line) => indent + line)];
  });
}

/** A flag as it is typed: its aliases, its name and the value it takes. */
function flagName(name: string, arg: ArgDef): string {
  const aliases = [("alias" in arg && arg.alias) || []].flat().map((a) => `-${a}`);
  const hint =
    arg.type === "enum" && arg.options?.length
      ? `=<${arg.options.join("|")}>`
      : arg.type === "string"
        ? `=<${arg.valueHint ?? name.replace(/-/g, "_")}>`
        : arg.valueHint
          ? `=<${arg.valueHint}>`
          : "";
  return [...aliases, `--${name}`].join(", ") + hint;
}

function flagRows(args: ArgsDef) {
  const positional: [string, string][] = [];
  const options: [string, string][] = [];
  const typed: string[] = [];
  for (const [name, arg] of Object.entries(args)) {
    const required =
      (arg.type === "positional" ? arg.required !== false : arg.required === true) &&
      arg.default === undefined;
    const text = [arg.description, required ? "(Required)" : ""].join(" ");
    if (arg.type === "positional") {
      positional.push([name.toUpperCase(), text]);
      typed.push(required ? `<${name.toUpperCase()}>` : `[${name.toUpperCase()}]`);
    } else options.push([flagName(name, arg), text]);
    if (arg.type === "boolean" && (arg.default === true || arg.negativeDescription))
      options.push([
        [("alias" in arg && arg.alias) || [], name]
          .flat()
          .map((n) => `--no-${n}`)
          .join(", "),
        arg.negativeDescription ?? "",
      ]);
  }
  return { positional, options, typed };
}

/**
 * A command's help: what it does (unless `described` is false), how it is typed, its arguments,
 * options and subcommands, then any `more` sections (synthai's exit codes), laid out by `style`.
 */
export async function renderHelp(
  cmd: Described,
  parent: Described | undefined,
  style: HelpStyle,
  {
    more = [],
    described = true,
  }: { more?: { title: string; rows: [string, string][] }[]; described?: boolean } = {},
): Promise<string> {
  const meta = (await resolve(cmd.meta)) ?? {};
  const parentMeta = (await resolve(parent?.meta)) ?? {};
  const name = [parentMeta.name, meta.name].filter(Boolean).join(" ");
  const version = meta.version ?? parentMeta.version;
  const { positional, options, typed: positionals } = flagRows((await resolve(cmd.args)) ?? {});
  const commands: [string, string][] = [];
  for (const [sub, def] of Object.entries((await resolve(cmd.subCommands)) ?? {}))
    commands.push([sub, (await resolve((await resolve(def))?.meta))?.description ?? ""]);
  const heading = (title: string) => paint(style, "1;4", "22;24")(title);
  const typed = [
    name,
    commands.length ? "<command>" : "",
    options.length ? "[OPTIONS]" : "",
    ...positionals,
  ].filter(Boolean);
  const about = `${meta.description ?? ""} (${name}${version ? ` v${version}` : ""})`;
  const lines = [
    ...(described ? [...wrap(about, style.width).map(paint(style, "90", "39")), ""] : []),
    ...wrap(`USAGE ${typed.join(" ")}`, style.width).map((line, i) =>
      i === 0 ? line.replace("USAGE", heading("USAGE")) : line,
    ),
  ];
  const sections = [
    { title: "ARGUMENTS", rows: positional },
    { title: "OPTIONS", rows: options },
    { title: "COMMANDS", rows: commands },
    ...more,
  ];
  for (const { title, rows } of sections)
    if (rows.length) lines.push("", heading(title), "", ...columns(rows, style));
  if (commands.length)
    lines.push("", ...wrap(`Use ${name} <command> --help for a command's options.`, style.width));
  return lines.join("\n");
}

async function resolve<T>(value: T | (() => T) | (() => Promise<T>) | Promise<T>): Promise<T> {
  return typeof value === "function" ? (value as () => T)() : value;
}
