/**
 * The peers: tfjs-core 4.22 with tfjs-backend-cpu and tfjs-backend-webgpu, in this process. tfjs-webgpu finds Dawn
 * through navigator.gpu, set from the `webgpu` package (the same Dawn build and adapter kind our WebGPU backend uses).
 */
export type Tf = typeof import('@tensorflow/tfjs-core');

let tfPromise: Promise<Tf> | null = null;

export function loadTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    const { create, globals } = (await import('webgpu')) as unknown as { create: (o: string[]) => GPU; globals: object };
    Object.assign(globalThis, globals);
    const g = globalThis as { navigator?: object };
    if (!g.navigator || !('gpu' in g.navigator)) {
      Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: create([]) }, configurable: true });
    }
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js'); // every op's gradient, as @tensorflow/tfjs does
    await import('@tensorflow/tfjs-backend-cpu');
    await import('@tensorflow/tfjs-backend-webgpu');
    return tf;
  })();
  return tfPromise;
}

/** Switches tfjs to 'cpu' or 'webgpu'; false when the backend cannot start here. */
export async function useTfBackend(tf: Tf, name: 'cpu' | 'webgpu'): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}
