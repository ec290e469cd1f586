import { gradcheckCommand, gradcheckHelp } from './gradcheck.js';
import { paramsCommand, paramsHelp } from './params.js';

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  params: { run: paramsCommand, help: paramsHelp },
  gradcheck: { run: gradcheckCommand, help: gradcheckHelp },
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
