/**
 * The page's panels around training: the model source (embedded, or a local HF folder the user picks), evaluating
 * an uploaded HF PEFT adapter, and generating under a trained GPT-2 adapter. DOM only; the work is done in the
 * training worker (web/worker.ts → bench.ts).
 */
import type { TaskName } from 'webpeft';
import { pickedFolder, type RunSettings } from './bench.js';
import type { ModelChoice, TrainingWorker, UploadResult } from './protocol.js';
import { unzipStored } from './zip.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export interface ExtrasContext {
  worker: TrainingWorker;
  settings(): RunSettings;
  onUpload(r: UploadResult | { error: string }): void;
  onGenerated(text: string): void;
}

let picked: File[] = [];

/** The model a run or an evaluation uses: the embedded one for the task, or the picked folder (checked here). */
export function modelChoice(): ModelChoice {
  if (($('model-source') as HTMLSelectElement).value !== 'local') return { kind: 'embedded' };
  if (!picked.length) throw new Error('model: pick a local HF folder (config.json, model.safetensors, tokenizer.json) or choose the embedded model');
  pickedFolder(picked);
  return { kind: 'local', files: picked };
}

/** The files of an upload: picked files by name, a zip's entries by base name. */
async function uploadedFiles(list: FileList): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const f of Array.from(list)) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (f.name.endsWith('.zip')) for (const [name, data] of unzipStored(bytes, f.name)) files[name.split('/').pop()!] = data;
    else files[f.name] = bytes;
  }
  return files;
}

export function setUpExtras(ctx: ExtrasContext): void {
  $('model-source').addEventListener('change', () => {
    const local = ($('model-source') as HTMLSelectElement).value === 'local';
    $('model-folder').hidden = !local;
    $('model-hint').textContent = local ? (picked.length ? `${pickedFolder(picked).name}: ${picked.length} files` : 'pick the folder') : '';
  });
  $('model-folder').addEventListener('change', () => {
    picked = Array.from(($('model-folder') as HTMLInputElement).files ?? []);
    try { $('model-hint').textContent = `${pickedFolder(picked).name}: ${picked.map((f) => f.name).sort().join(', ')}`; } catch (e) { $('model-hint').textContent = (e as Error).message; }
  });
  const upload = $('upload-adapter') as HTMLInputElement;
  upload.disabled = false;
  upload.addEventListener('change', async () => {
    if (!upload.files?.length) return;
    const out = $('upload-result');
    out.textContent = 'evaluating…';
    try {
      const s = ctx.settings();
      const files = await uploadedFiles(upload.files);
      const r = await ctx.worker.call({ kind: 'evaluate', files, settings: s, model: modelChoice() });
      out.textContent = `${r.kind} adapter on ${s.task}: validation ${r.metric} ${r.evaluation.metric.toFixed(4)}` +
        Object.entries(r.evaluation.extra).map(([k, v]) => `, ${k} ${v.toFixed(4)}`).join('') + ` (${s.evalLimit} examples)`;
      ctx.onUpload(r);
    } catch (e) {
      out.textContent = `could not evaluate: ${(e as Error).message}`;
      ctx.onUpload({ error: (e as Error).message });
    } finally {
      upload.value = '';
    }
  });
  $('generate').addEventListener('click', async () => {
    const choice = ($('gen-run') as HTMLSelectElement).value;
    const out = $('gen-output');
    out.hidden = false;
    if (choice === '') { out.textContent = 'train a GPT-2 run (the subject task) first'; return; }
    const prompt = ($('gen-prompt') as HTMLTextAreaElement).value;
    const n = Math.max(1, Math.min(200, Number(($('gen-tokens') as HTMLInputElement).value) || 12));
    out.textContent = 'generating…';
    try {
      const text = await ctx.worker.call({ kind: 'generate', run: Number(choice), prompt, maxNewTokens: n });
      out.textContent = `${prompt}⟨${text}⟩`;
      ctx.onGenerated(text);
    } catch (e) {
      out.textContent = `could not generate: ${(e as Error).message}`;
    }
  });
}

/** After a run: GPT-2 runs join the generation panel's choices. */
export function offerForGeneration(task: TaskName, index: number, label: string): void {
  if (task !== 'subject') return;
  const select = $('gen-run') as HTMLSelectElement;
  select.append(new Option(label, String(index)));
  select.value = String(index);
  ($('generate') as HTMLButtonElement).disabled = false;
}
