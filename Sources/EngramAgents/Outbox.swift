#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where engagement "sends" email: one JSON line per message appended to a local file. Nothing
/// leaves the machine. Thread-safe; the instances of a run share one outbox.
public final class Outbox: Sendable {
    /// The open stream; `FILE*` is not Sendable, so it lives inside the mutex as a bit pattern and
    /// is only touched under the lock.
    private let file: Mutex<UInt>
    public let path: String

    public init(path: String) throws(OutboxError) {
        guard let stream = fopen(path, "a") else { throw OutboxError(path: path, errno: errno) }
        self.path = path
        file = Mutex(UInt(bitPattern: stream))
    }

    public struct Message: Sendable, Codable {
        public var time: Int64
        public var agent: String
        public var lead: String
        public var to: String
        public var campaign: String
        public var template: String
        public var subject: String
    }

    public func write(_ message: Message) throws(OutboxError) {
        var line = AgentRuntime.encode(message)
        line.append(UInt8(ascii: "\n"))
        let written = file.withLock { bits -> Int in
            guard let stream = UnsafeMutablePointer<FILE>(bitPattern: bits) else { return -1 }
            return fwrite(line, 1, line.count, stream)
        }
        guard written == line.count else { throw OutboxError(path: path, errno: errno) }
    }

    /// Flushes and closes the file; later writes fail.
    public func close() throws(OutboxError) {
        let result = file.withLock { bits -> Int32 in
            guard let stream = UnsafeMutablePointer<FILE>(bitPattern: bits) else { return 0 }
            bits = 0
            return fclose(stream)
        }
        guard result == 0 else { throw OutboxError(path: path, errno: errno) }
    }

    deinit {
        try? close()
    }
}

public struct OutboxError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let errno: Int32
    public var description: String { "outbox \(path): \(String(cString: strerror(errno)))" }
}
