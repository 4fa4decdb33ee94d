// Preloaded into a pytor process by the profiler (`node --import ./dist/bench/memlog.js …`):
// samples process.memoryUsage() every MEMLOG_MS (default 250) and writes the series as JSON to
// MEMLOG_FILE when the process exits. Buffers live outside the JS heap, so `arrayBuffers` and
// `external` are where a BitTorrent client's memory shows, not `heapUsed`.
import { writeFileSync } from 'node:fs';

const file = process.env.MEMLOG_FILE;
if (file) {
  const t0 = Date.now();
  const series: { t: number; rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }[] = [];
  const sample = () => {
    const m = process.memoryUsage();
    series.push({ t: (Date.now() - t0) / 1000, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
  };
  const timer = setInterval(sample, Number(process.env.MEMLOG_MS ?? '250') || 250);
  timer.unref();
  process.on('exit', () => {
    sample();
    writeFileSync(file, JSON.stringify(series));
  });
}
