import { gradcheckCommand, gradcheckHelp } from './gradcheck.js';
import { paramsCommand, paramsHelp } from './params.js';
import { compareCommand, compareHelp } from './compare.js';
import { evalCommand, evalHelp, trainCommand, trainHelp } from './train.js';
import { dumpCommand, dumpHelp, generateCommand, generateHelp } from './generate.js';
import { inspectCommand, inspectHelp, tokenizeCommand, tokenizeHelp } from './tools.js';

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  compare: { run: compareCommand, help: compareHelp },
  train: { run: trainCommand, help: trainHelp },
  eval: { run: evalCommand, help: evalHelp },
  generate: { run: generateCommand, help: generateHelp },
  params: { run: paramsCommand, help: paramsHelp },
  gradcheck: { run: gradcheckCommand, help: gradcheckHelp },
  dump: { run: dumpCommand, help: dumpHelp },
  tokenize: { run: tokenizeCommand, help: tokenizeHelp },
  inspect: { run: inspectCommand, help: inspectHelp },
};

const usage = `webpeft — autograd + WebGPU, GPT-2/BERT, prompt-family PEFT
usage: webpeft <command> [options]   (webpeft <command> --help for its options)

${Object.values(commands).map((c) => c.help.split('\n')[0]).join('\n')}`;

/** Runs the CLI; returns the exit code. Errors print as one line (set WEBPEFT_DEBUG=1 for the stack). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') { console.log(usage); return 0; }
  const cmd = commands[name];
  if (!cmd) { console.error(`webpeft: unknown command '${name}'\n\n${usage}`); return 2; }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (process.env.WEBPEFT_DEBUG) console.error(e);
    console.error(`webpeft ${name}: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}
