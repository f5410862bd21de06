/// Timing of a short call repeated many times, in this thread's CPU time.
import Foundation

/// Runs `body` repeatedly for `seconds` of this thread's CPU time (not wall time: the
/// machine is shared), `rounds` times, or exactly `calls` times per round when given;
/// returns the best round's seconds per call (the least disturbed by other processes),
/// the calls made in all, and a value folded from the results (so the calls are kept).
func bestSecondsPerCall(seconds: Double, rounds: Int, calls fixedCalls: Int? = nil, _ body: () -> Int) -> (
    secondsPerCall: Double, calls: Int, sink: Int
) {
    var sink = 0
    for _ in 0..<100 { sink &+= body() }  // warm up
    var best = Double.infinity
    var totalCalls = 0
    for _ in 0..<rounds {
        var calls = 0
        var batch = 1
        let start = threadCPUSeconds()
        var elapsed = 0.0
        if let fixedCalls {
            for _ in 0..<fixedCalls { sink &+= body() }
            calls = fixedCalls
            elapsed = threadCPUSeconds() - start
        }
        while fixedCalls == nil, elapsed < seconds {
            for _ in 0..<batch { sink &+= body() }
            calls += batch
            batch = min(batch * 2, 4096)
            elapsed = threadCPUSeconds() - start
        }
        best = min(best, elapsed / Double(calls))
        totalCalls += calls
    }
    return (best, totalCalls, sink)
}

func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
