/** Best of several rounds: the least disturbed by other work on the machine. */
export function measure(label: string, rowsPerRun: number, run: () => void): void {
  for (let i = 0; i < 300; i++) run(); // let the JIT settle
  const runsPerRound = 500;
  let bestSeconds = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < runsPerRound; i++) run();
    bestSeconds = Math.min(bestSeconds, Number(process.hrtime.bigint() - start) / 1e9 / runsPerRound);
  }
  const rowsPerSecond = Math.round(rowsPerRun / bestSeconds).toLocaleString("en-US");
  console.log(`${label}: ${rowsPerSecond} rows/s (${(bestSeconds * 1e6).toFixed(0)} us per chunk)`);
}
