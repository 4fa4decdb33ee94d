import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `tick` now and then every `ms` after the previous call finished (never two at once);
 * stops when the component goes away. `tick` may change between renders.
 */
export function usePoll(tick: () => Promise<void>, ms: number, deps: readonly unknown[] = []): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = setTimeout(run, ms);
      }
    };
    void run();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [ms, ...deps]);
}
