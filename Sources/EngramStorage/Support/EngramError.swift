#if canImport(Glibc)
import Glibc
#endif

/// Every failure the storage engine reports to its callers.
///
/// A struct over a code rather than an enum, in the manner of postgres-nio's `PSQLError`: new codes
/// can be added without breaking a client's `switch`, and each error carries a message that names
/// what was wrong (the key that was too large and by how much, the file and offset of corrupt bytes,
/// the errno of a failed system call).
public struct EngramError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Clients branch on the code; the message is for people.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: UInt16, Sendable {
            case notFound = 1
            case versionConflict = 2
            case keyTooLarge = 3
            case valueTooLarge = 4
            case mapFull = 5
            case busy = 6
            case corrupt = 7
            case io = 8
            case noSpace = 9
            case invalidArgument = 10
            case closed = 11
            case limitsInvalid = 12
            case alreadyExists = 13
        }

        fileprivate let base: Base

        /// The item asked for does not exist.
        public static let notFound = Code(base: .notFound)
        /// A compare-and-set found a different version than the one expected.
        public static let versionConflict = Code(base: .versionConflict)
        /// A key or namespace name is longer than its limit.
        public static let keyTooLarge = Code(base: .keyTooLarge)
        /// A value, fact, or batch is larger than its limit.
        public static let valueTooLarge = Code(base: .valueTooLarge)
        /// The LMDB map is full; the write was not applied. Restart with a larger map size.
        public static let mapFull = Code(base: .mapFull)
        /// A bounded queue is full; nothing was applied and the request may be retried.
        public static let busy = Code(base: .busy)
        /// Stored bytes failed a check; the error names the file and offset.
        public static let corrupt = Code(base: .corrupt)
        /// A system call failed; the error carries its errno.
        public static let io = Code(base: .io)
        /// The disk is full; the write was not applied. Reads keep working.
        public static let noSpace = Code(base: .noSpace)
        /// An argument is malformed (an empty namespace, a limit of zero, a bad vector).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The store is closed or failed and takes no more writes.
        public static let closed = Code(base: .closed)
        /// The configured limits contradict each other.
        public static let limitsInvalid = Code(base: .limitsInvalid)
        /// An item that must be unique exists already (a lead's email in its namespace).
        public static let alreadyExists = Code(base: .alreadyExists)

        /// A stable number for the code, used on the wire and in logs.
        public var rawValue: UInt16 { base.rawValue }

        public var description: String {
            switch base {
            case .notFound: "not found"
            case .versionConflict: "version conflict"
            case .keyTooLarge: "key too large"
            case .valueTooLarge: "value too large"
            case .mapFull: "map full"
            case .busy: "busy"
            case .corrupt: "corrupt"
            case .io: "i/o error"
            case .noSpace: "no space"
            case .invalidArgument: "invalid argument"
            case .closed: "closed"
            case .limitsInvalid: "limits invalid"
            case .alreadyExists: "already exists"
            }
        }
    }

    public let code: Code
    /// A sentence that names what was wrong.
    public let message: String
    /// The errno of the failed system call, for `.io` and `.noSpace`.
    public let errno: Int32?
    /// The file of corrupt bytes, for `.corrupt`.
    public let file: String?
    /// The byte offset in `file` where the damage starts, for `.corrupt`.
    public let offset: Int64?

    public init(
        _ code: Code,
        _ message: String,
        errno: Int32? = nil,
        file: String? = nil,
        offset: Int64? = nil
    ) {
        self.code = code
        self.message = message
        self.errno = errno
        self.file = file
        self.offset = offset
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let errno {
            text += " (errno \(errno): \(String(cString: strerror(errno))))"
        }
        if let file {
            text += " [file \(file)"
            if let offset { text += ", offset \(offset)" }
            text += "]"
        }
        return text
    }

    /// An error for a failed system call; ENOSPC, EDQUOT and EFBIG (a file past the process's
    /// file-size limit, `RLIMIT_FSIZE`) become `.noSpace`: each means no room to write, not a fault.
    static func system(_ what: String, errno code: Int32, file: String? = nil) -> EngramError {
        let kind: Code = (code == ENOSPC || code == EDQUOT || code == EFBIG) ? .noSpace : .io
        return EngramError(kind, what, errno: code, file: file)
    }

    static func corrupt(_ what: String, file: String, offset: Int64) -> EngramError {
        EngramError(.corrupt, what, file: file, offset: offset)
    }
}
