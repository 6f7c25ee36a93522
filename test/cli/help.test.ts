// Every command's --help, read in-process from the command line main() runs: each option and
// positional says what it is for, `layer` names its required choice, and the top-level help
// shows examples and every exit code EXIT defines.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { commandLine } from "../../src/cli/main.js";
import { Output } from "../../src/cli/output.js";
import { EXIT, UsageError } from "../../src/model/errors.js";

/** What running the command line with `argv` throws (yargs's fail handler may throw before the promise exists). */
async function usageErrorOf(argv: string[]): Promise<UsageError> {
  try {
    await commandLine(argv, quiet(), () => {}).parseAsync();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`expected ${argv.join(" ")} to fail`);
}

const quiet = () => new Output({ json: false, quiet: true }, new PassThrough(), new PassThrough());

/** The help text yargs would print for `args --help`, captured instead of printed. */
function helpOf(args: string[]): Promise<string> {
  const argv = [...args, "--help"];
  const cli = commandLine(argv, quiet(), () => {}).exitProcess(false);
  return new Promise((resolve, reject) => {
    void cli.parse(argv, {}, (err, _argv, output) => (err ? reject(err) : resolve(output)));
  });
}

/** Option and positional lines whose name is followed by nothing but yargs's [type] and [default] notes. */
function undescribed(help: string): string[] {
  return help.split("\n").filter((l) => /^\s+(?:-\w, )?(?:--)?[\w-]+\s{2,}\[/.test(l) || /^\s+(?:-\w, )?--[\w-]+$/.test(l));
}

describe("--help", () => {
  it("describes every option and positional of every command", async () => {
    const top = await helpOf([]);
    const commands = [...top.slice(top.indexOf("Commands:"), top.indexOf("Options:")).matchAll(/^ {2}scratch-pkgs (\w+)/gm)].map((m) => m[1]!);
    expect(commands).toEqual(["lock", "layer", "image", "audit", "doctor", "add", "why"]);
    expect(undescribed(top)).toEqual([]);
    for (const c of commands) {
      const help = await helpOf([c]);
      expect(help, c).toMatch(/Options:/);
      expect({ command: c, lines: undescribed(help) }).toEqual({ command: c, lines: [] });
      if (help.includes("--lockfile")) expect(help, c).toMatch(/--lockfile\s+\S+[^[\n]*\[string\]/);
    }
  });

  it("`layer` names --output or --check as required", async () => {
    const help = await helpOf(["layer"]);
    expect(help).toMatch(/^scratch-pkgs layer \(--output FILE \| --check\)/);
    expect(help).toMatch(/This\s+or\s+--check\s+is\s+required/);
    expect(help).toMatch(/This\s+or\s+--output\s+is\s+required/);
  });

  it("the top-level help shows two examples and every exit code", async () => {
    const top = await helpOf([]);
    const examples = top.slice(top.indexOf("Examples:"), top.indexOf("Exit codes:"));
    expect([...examples.matchAll(/^ {2}scratch-pkgs /gm)]).toHaveLength(2);
    const codes = top.slice(top.indexOf("Exit codes:"));
    for (const code of Object.values(EXIT)) expect(codes).toMatch(new RegExp(`^ {2}${code} +\\S`, "m"));
  });
});

describe("usage errors point to the command's own help", () => {
  it("image without --output names image --output", async () => {
    const e = await usageErrorOf(["image"]);
    expect(e.message).toMatch(/^image needs --output DIR .* or --output FILE\.tar/);
    expect(e.hint).toContain("scratch-pkgs image --help");
  });

  it("an unknown flag of a command hints that command's --help", async () => {
    const e = await usageErrorOf(["audit", "--bogus"]);
    expect(e.message).toMatch(/bogus/);
    expect(e.hint).toBe("see scratch-pkgs audit --help");
  });
});
