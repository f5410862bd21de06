/// Timing of one stage pass: wall clock, process CPU time (getrusage), allocations.
import CBenchSupport

/// How long one pass took and what it saw.
struct Sample: Codable, Sendable {
    var wallSeconds: Double
    /// user + system CPU time of the process during the pass (getrusage).
    var cpuSeconds: Double
    var output: StageOutput
}

/// Runs `body` once and times it.
func measure(_ body: () throws -> StageOutput) rethrows -> Sample {
    let clock = ContinuousClock()
    let cpuBefore = bench_cpu_microseconds()
    let start = clock.now
    let output = try body()
    let elapsed = clock.now - start
    let cpuAfter = bench_cpu_microseconds()
    return Sample(wallSeconds: elapsed.seconds, cpuSeconds: Double(cpuAfter - cpuBefore) / 1e6, output: output)
}

/// Allocations made during one untimed pass.
struct AllocationCount: Codable, Sendable {
    var allocations: UInt64
    var frees: UInt64
}

/// Runs `body` once with the allocation counter on.
func countAllocations(_ body: () throws -> StageOutput) rethrows -> (AllocationCount, StageOutput) {
    bench_malloc_counting_start()
    let output: StageOutput
    do {
        output = try body()
    } catch {
        _ = bench_malloc_counting_stop()
        throw error
    }
    let counts = bench_malloc_counting_stop()
    return (AllocationCount(allocations: counts.allocations, frees: counts.frees), output)
}

/// True when the Swift runtime's allocations reach the interposer in CBenchSupport.
func allocationCounterWorks() -> Bool {
    bench_malloc_counting_start()
    let pointer = UnsafeMutableRawPointer.allocate(byteCount: 48, alignment: 8)
    pointer.deallocate()
    let counts = bench_malloc_counting_stop()
    return counts.allocations >= 1 && counts.frees >= 1
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The median of `values` (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty)
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
