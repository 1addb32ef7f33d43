/// Puts a long-term value, optionally only if the current version is the one expected.
///
/// `expectedVersion`: nil writes unconditionally; 0 writes only if the key does not exist; any
/// other value writes only if the key's current version is exactly that. The outcome is the new
/// version, a store-wide increasing number.
public struct LongTermPut: WriteCommand {
    public let namespace: Namespace
    public let key: [UInt8]
    public let value: [UInt8]
    public let expectedVersion: UInt64?

    public init(namespace: Namespace, key: [UInt8], value: [UInt8], expectedVersion: UInt64? = nil) {
        self.namespace = namespace
        self.key = key
        self.value = value
        self.expectedVersion = expectedVersion
    }

    public var payloadByteCount: Int { namespace.bytes.count + key.count + value.count + 16 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.check(namespace: namespace, key: key, limits: limits)
        guard value.count <= limits.valueBytesMax else {
            throw EngramError(.valueTooLarge, "value of \(value.count) bytes exceeds valueBytesMax \(limits.valueBytesMax)")
        }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> UInt64 {
        if let expectedVersion {
            let current = try LongTermValidation.currentVersion(namespace: namespace, key: key, in: context)
            guard current == expectedVersion else {
                throw LongTermValidation.conflict(expected: expectedVersion, found: current, key: key)
            }
        }
        let version = context.nextVersion()
        try context.apply(LongTermPutOperation(namespace: namespace, key: key, version: version, value: value))
        return version
    }
}

/// Deletes a long-term key, optionally only if its current version is the one expected. The
/// outcome says whether the key existed.
public struct LongTermDelete: WriteCommand {
    public let namespace: Namespace
    public let key: [UInt8]
    public let expectedVersion: UInt64?

    public init(namespace: Namespace, key: [UInt8], expectedVersion: UInt64? = nil) {
        self.namespace = namespace
        self.key = key
        self.expectedVersion = expectedVersion
    }

    public var payloadByteCount: Int { namespace.bytes.count + key.count + 8 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.check(namespace: namespace, key: key, limits: limits)
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> Bool {
        let current = try LongTermValidation.currentVersion(namespace: namespace, key: key, in: context)
        if let expectedVersion, current != expectedVersion {
            throw LongTermValidation.conflict(expected: expectedVersion, found: current, key: key)
        }
        guard current != 0 else { return false }
        try context.apply(LongTermDeleteOperation(namespace: namespace, key: key))
        return true
    }
}

enum LongTermValidation {
    static func check(namespace: Namespace, key: [UInt8], limits: Limits) throws(EngramError) {
        try checkNamespace(namespace, limits: limits)
        guard !key.isEmpty else { throw EngramError(.invalidArgument, "a key must not be empty") }
        guard key.count <= limits.keyBytesMax else {
            throw EngramError(.keyTooLarge, "key of \(key.count) bytes exceeds keyBytesMax \(limits.keyBytesMax)")
        }
    }

    static func checkNamespace(_ namespace: Namespace, limits: Limits) throws(EngramError) {
        guard namespace.bytes.count <= limits.namespaceBytesMax else {
            throw EngramError(.keyTooLarge, "namespace name of \(namespace.bytes.count) bytes exceeds namespaceBytesMax \(limits.namespaceBytesMax)")
        }
    }

    /// The key's current version, 0 if it does not exist.
    static func currentVersion(namespace: Namespace, key: [UInt8], in context: WriteContext) throws(EngramError) -> UInt64 {
        let table = context.tables.longTerm
        return try NamespacedKey.with(namespace, key) { (storedKey) throws(EngramError) -> UInt64 in
            guard let stored = try context.get(table, storedKey) else { return 0 }
            return try LongTermValueLayout.decode(stored, table: table.name).version
        }
    }

    static func conflict(expected: UInt64, found: UInt64, key: [UInt8]) -> EngramError {
        let foundText = found == 0 ? "no value" : "version \(found)"
        let expectedText = expected == 0 ? "no value" : "version \(expected)"
        return EngramError(.versionConflict, "expected \(expectedText) for key \(printable(key)), found \(foundText)")
    }
}

/// A key shown in a message: as text when it is printable ASCII, otherwise as hex; long keys cut.
func printable(_ bytes: [UInt8]) -> String {
    let shown = bytes.prefix(64)
    let suffix = bytes.count > 64 ? "…(\(bytes.count) bytes)" : ""
    if shown.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
        return "\"" + String(decoding: shown, as: UTF8.self) + "\"" + suffix
    }
    return "0x" + shown.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() + suffix
}
