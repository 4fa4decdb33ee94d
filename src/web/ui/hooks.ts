import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `tick` now and then every `ms` (never two at once: a slow call delays the next);
 * stops when the component goes away. `tick` may change between renders.
 */
export function usePoll(tick: () => Promise<void>, ms: number, deps: readonly unknown[] = []): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      const started = Date.now();
      try {
        await latest.current();
      } finally {
        // Every `ms` from start to start, so what is shown is never older than that plus one round trip.
        if (!stopped) timer = setTimeout(run, Math.max(0, ms - (Date.now() - started)));
      }
    };
    void run();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [ms, ...deps]);
}
