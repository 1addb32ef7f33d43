#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The progress line an export shows on a terminal: rows so far of the expected total, rows a
/// second, and the time left at that rate, redrawn in place at most four times a second on
/// standard error. Silent when standard error is not a terminal or when turned off.
///
/// `Sendable`: the copy loop reports from whichever thread runs it; the counters are atomics and
/// drawing is serialised by its mutex.
public final class ExportProgress: Sendable {
    let isEnabled: Bool
    private let startNanoseconds = ExportClock.nanoseconds()
    private let rowsDone = Atomic<Int64>(0)
    private let rowsExpected = Atomic<Int64>(0)
    private let drawing = Mutex<(lastDrawNanoseconds: UInt64, phase: String, drawn: Bool)>((0, "", false))
    static let redrawIntervalNanoseconds: UInt64 = 250_000_000

    /// `enabled` nil: only when standard error is a terminal.
    public init(enabled: Bool? = nil) {
        isEnabled = enabled ?? (isatty(2) == 1)
    }

    func expect(_ rows: Int64) { rowsExpected.store(max(0, rows), ordering: .relaxed) }

    func phase(_ name: String) {
        drawing.withLock { $0.phase = name }
        draw(force: true)
    }

    func add(_ rows: Int) {
        rowsDone.add(Int64(rows), ordering: .relaxed)
        draw(force: false)
    }

    var rows: Int64 { rowsDone.load(ordering: .relaxed) }
    var elapsedSeconds: Double { Double(ExportClock.nanoseconds() - startNanoseconds) / 1e9 }

    /// The line as it is drawn: `leads: 412,000 of 1,000,000 rows, 98,500 rows/s, 6 s left`.
    static func line(phase: String, done: Int64, expected: Int64, seconds: Double) -> String {
        let rate = seconds > 0 ? Double(done) / seconds : 0
        var text = "\(phase): \(grouped(done))"
        if expected > 0 { text += " of \(grouped(max(expected, done)))" }
        text += " rows, \(grouped(Int64(rate))) rows/s"
        if expected > done && rate > 0 { text += ", \(Int((Double(expected - done) / rate).rounded(.up))) s left" }
        return text
    }

    private func draw(force: Bool) {
        guard isEnabled else { return }
        let now = ExportClock.nanoseconds()
        let text: String? = drawing.withLock { state in
            guard force || now - state.lastDrawNanoseconds >= Self.redrawIntervalNanoseconds else { return nil }
            state.lastDrawNanoseconds = now
            state.drawn = true
            return Self.line(phase: state.phase, done: rowsDone.load(ordering: .relaxed), expected: rowsExpected.load(ordering: .relaxed), seconds: Double(now - startNanoseconds) / 1e9)
        }
        if let text { Self.writeStandardError("\r\u{1B}[2K" + text) }
    }

    /// Ends the line so the summary starts on its own.
    func finish() {
        let drawn = drawing.withLock { $0.drawn }
        if isEnabled && drawn { Self.writeStandardError("\r\u{1B}[2K") }
    }

    public static func writeStandardError(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// `1234567` as `1,234,567`.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }
}

enum ExportClock {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func wallMicroseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
    }
}
