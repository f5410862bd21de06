/// The throughput report: per stage medians, spread, ratios to the floor, and the project's goals.
import Foundation

/// One stage's figures over all rounds.
struct StageFigures: Codable {
    var stage: Stage
    var title: String
    var packets: UInt64
    var medianWallSeconds: Double
    var minWallSeconds: Double
    var maxWallSeconds: Double
    var medianCPUSeconds: Double
    /// packets / median wall time.
    var packetsPerSecond: Double
    /// This stage's wall time / the floor's wall time in the same round: median, min, max.
    var timeVsFloor: Double
    var timeVsFloorMin: Double
    var timeVsFloorMax: Double
    /// Same with CPU time (less disturbed by other processes on a busy machine).
    var cpuVsFloor: Double
    /// packets/s as a fraction of the floor's (1 / timeVsFloor).
    var packetsPerSecondVsFloor: Double
    /// This stage's wall time / `pcapcount read`'s (the shared bench's floor) in the same round,
    /// median, when that floor ran too.
    var timeVsLibpcapFloor: Double?
    var allocationsPerPacket: Double?
    var output: StageOutput
    /// HTTP observer and pipeline only.
    var exchanges: Int?
    var exchangesPerSecond: Double?
    var cpuMicrosecondsPerExchange: Double?
}

struct ThroughputReport: Codable {
    var date: String
    var file: String
    var fileBytes: Int64
    var serverPort: UInt16
    var rounds: Int
    var stages: [StageFigures]
    var goals: [Goal]

    struct Goal: Codable {
        var name: String
        var value: Double
        var bound: Double
        var met: Bool
    }

    init(
        file: String, fileBytes: Int64, serverPort: UInt16, rounds: Int, stages: [Stage],
        samples: [Stage: [Sample]], allocations: [Stage: AllocationCount]
    ) {
        date = ISO8601DateFormatter().string(from: Date())
        self.file = file
        self.fileBytes = fileBytes
        self.serverPort = serverPort
        self.rounds = rounds
        let floor = samples[.floor]!
        let libpcapFloor = samples[.libpcapFloor]
        self.stages = stages.map { stage in
            let runs = samples[stage]!
            let walls = runs.map(\.wallSeconds)
            let cpus = runs.map(\.cpuSeconds)
            let ratios = zip(runs, floor).map { $0.wallSeconds / $1.wallSeconds }
            let cpuRatios = zip(runs, floor).map { $0.cpuSeconds / max($1.cpuSeconds, 1e-6) }
            let output = runs.last!.output
            let wall = median(walls)
            let cpu = median(cpus)
            var figures = StageFigures(
                stage: stage, title: stage.title, packets: output.packets, medianWallSeconds: wall,
                minWallSeconds: walls.min()!, maxWallSeconds: walls.max()!, medianCPUSeconds: cpu,
                packetsPerSecond: Double(output.packets) / wall, timeVsFloor: median(ratios),
                timeVsFloorMin: ratios.min()!, timeVsFloorMax: ratios.max()!, cpuVsFloor: median(cpuRatios),
                packetsPerSecondVsFloor: 1 / median(ratios), output: output)
            if let libpcapFloor {
                figures.timeVsLibpcapFloor = median(zip(runs, libpcapFloor).map { $0.wallSeconds / $1.wallSeconds })
            }
            if let count = allocations[stage], output.packets > 0 {
                figures.allocationsPerPacket = Double(count.allocations) / Double(output.packets)
            }
            if let exchanges = output.exchanges, exchanges > 0 {
                figures.exchanges = exchanges
                figures.exchangesPerSecond = Double(exchanges) / wall
                figures.cpuMicrosecondsPerExchange = cpu * 1e6 / Double(exchanges)
            }
            return figures
        }
        var goals: [Goal] = []
        for figures in self.stages {
            switch figures.stage {
            case .reassembly:
                goals.append(
                    Goal(
                        name: "decode+reassembly packets/s vs floor (issue 3)", value: figures.packetsPerSecondVsFloor,
                        bound: 0.60, met: figures.packetsPerSecondVsFloor >= 0.60))
            case .pipeline:
                goals.append(
                    Goal(
                        name: "full pipeline time vs floor (project bar, at most)", value: figures.timeVsFloor,
                        bound: 2.0, met: figures.timeVsFloor <= 2.0))
                goals.append(
                    Goal(
                        name: "full pipeline packets/s vs floor (issue 4)", value: figures.packetsPerSecondVsFloor,
                        bound: 0.50, met: figures.packetsPerSecondVsFloor >= 0.50))
                if let ratio = figures.timeVsLibpcapFloor {
                    goals.append(
                        Goal(
                            name: "full pipeline time vs pcapcount read (project bar, at most)", value: ratio,
                            bound: 2.0, met: ratio <= 2.0))
                    goals.append(
                        Goal(
                            name: "full pipeline packets/s vs pcapcount read (issue 4)", value: 1 / ratio,
                            bound: 0.50, met: 1 / ratio >= 0.50))
                }
                if let micros = figures.cpuMicrosecondsPerExchange {
                    goals.append(
                        Goal(name: "CPU µs per exchange (issue 4, at most)", value: micros, bound: 2.0, met: micros <= 2.0))
                }
            case .libpcapFloor, .floor, .decode, .http: break
            }
        }
        self.goals = goals
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    func table() -> String {
        var lines: [String] = []
        let megabytes = Double(fileBytes) / 1_048_576
        lines.append("\(file): \(String(format2: megabytes)) MiB, server port \(serverPort), \(rounds) rounds, \(date)")
        lines.append("")
        var rows: [[String]] = [
            ["stage", "packets", "median s", "min-max s", "Mpkt/s", "time x floor (min-max)", "cpu x floor", "pkt/s vs floor", "pkt/s vs A0", "allocs/pkt"]
        ]
        for s in stages {
            rows.append([
                s.title, "\(s.packets)", String(format3: s.medianWallSeconds),
                "\(String(format3: s.minWallSeconds))-\(String(format3: s.maxWallSeconds))",
                String(format3: s.packetsPerSecond / 1e6),
                "\(String(format2: s.timeVsFloor)) (\(String(format2: s.timeVsFloorMin))-\(String(format2: s.timeVsFloorMax)))",
                String(format2: s.cpuVsFloor), "\(Int((s.packetsPerSecondVsFloor * 100).rounded())) %",
                s.timeVsLibpcapFloor.map { "\(Int((100 / $0).rounded())) %" } ?? "-",
                s.allocationsPerPacket.map { String(format3: $0) } ?? "-",
            ])
        }
        lines.append(contentsOf: formatTable(rows))
        for s in stages {
            if let exchanges = s.exchanges, let perSecond = s.exchangesPerSecond, let micros = s.cpuMicrosecondsPerExchange {
                lines.append("")
                lines.append(
                    "\(s.stage.rawValue): \(exchanges) exchanges, \(Int(perSecond.rounded())) exchanges/s, "
                        + "\(String(format3: micros)) µs CPU per exchange (median CPU \(String(format3: s.medianCPUSeconds)) s)")
            }
        }
        if !goals.isEmpty {
            lines.append("")
            for goal in goals {
                lines.append("\(goal.met ? "met    " : "NOT MET") \(goal.name): \(String(format3: goal.value)) (bound \(goal.bound))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Left-aligned first column, right-aligned others.
func formatTable(_ rows: [[String]]) -> [String] {
    let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max()! }
    return rows.map { row in
        row.enumerated().map { column, cell in
            let pad = String(repeating: " ", count: widths[column] - cell.count)
            return column == 0 ? cell + pad : pad + cell
        }.joined(separator: "  ")
    }
}

extension String {
    init(format2 value: Double) { self = String(format: "%.2f", value) }
    init(format3 value: Double) { self = String(format: "%.3f", value) }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
