/**
 * The shipped tasks on the package's own data files (Node): ./task-build.ts builds them from examples, this module
 * hands it assets/data's files. Importers keep one module for both (`makeTask`, `TASK_INFO`, …).
 */
import { loadSpam, loadSubject, loadTokens } from '../data/load.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { buildTask, type Task, type TaskData, type TaskName, type TaskOptions } from './task-build.js';

export * from './task-build.js';

/** The shipped examples, read from assets/data (or WEBPEFT_DATA_DIR). */
export const SHIPPED_DATA: TaskData = { spam: loadSpam, tokens: loadTokens, subject: loadSubject };

export function makeTask(name: TaskName, tok: TextTokenizer, o: TaskOptions): Task {
  return buildTask(name, tok, o, SHIPPED_DATA);
}
