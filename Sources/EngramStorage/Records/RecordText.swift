/// The rules for text fields of records (docs/RECORDS.md, "Common pieces"): well-formed UTF-8, no
/// control characters, a length in bounds; and the email rules and case folding.
enum RecordText {
    enum Problem: Equatable {
        case tooShort(byteCount: Int, bytesMin: Int)
        case tooLong(byteCount: Int, bytesMax: Int)
        case invalidUTF8(offset: Int)
        case controlByte(offset: Int, byte: UInt8)
        case emailSpace(offset: Int)
        case emailAt

        var description: String {
            switch self {
            case .tooShort(let count, let minimum): "is \(count) bytes, at least \(minimum) needed"
            case .tooLong(let count, let maximum): "is \(count) bytes, over its bound of \(maximum)"
            case .invalidUTF8(let offset): "is not well-formed UTF-8 at byte \(offset)"
            case .controlByte(let offset, let byte): "has control byte 0x\(String(byte, radix: 16)) at byte \(offset)"
            case .emailSpace(let offset): "has a space at byte \(offset)"
            case .emailAt: "needs an \"@\" with at least one byte before and after it"
            }
        }

        var code: EngramError.Code { if case .tooLong = self { .valueTooLarge } else { .invalidArgument } }
    }

    /// The first problem of `bytes` as a text of `bytesMin...bytesMax` bytes, or nil.
    static func problem(_ bytes: UnsafeRawBufferPointer, bytesMin: Int, bytesMax: Int) -> Problem? {
        if bytes.count < bytesMin { return .tooShort(byteCount: bytes.count, bytesMin: bytesMin) }
        if bytes.count > bytesMax { return .tooLong(byteCount: bytes.count, bytesMax: bytesMax) }
        for (offset, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x7F {
            return .controlByte(offset: offset, byte: byte)
        }
        if let offset = UTF8Validation.firstInvalidOffset(bytes) { return .invalidUTF8(offset: offset) }
        return nil
    }

    /// The first problem of `bytes` as an email of at most `bytesMax` bytes, or nil.
    static func emailProblem(_ bytes: UnsafeRawBufferPointer, bytesMax: Int) -> Problem? {
        if let problem = problem(bytes, bytesMin: 1, bytesMax: bytesMax) { return problem }
        if let offset = bytes.firstIndex(of: 0x20) { return .emailSpace(offset: offset) }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1 else { return .emailAt }
        return nil
    }

    /// Checks a caller's text field; the error names the field.
    static func check(_ text: String, field: String, bytesMin: Int, bytesMax: Int) throws(EngramError) {
        var text = text
        let problem: Problem? = text.withUTF8 { Self.problem(UnsafeRawBufferPointer($0), bytesMin: bytesMin, bytesMax: bytesMax) }
        if let problem { throw EngramError(problem.code, "\(field) \(problem.description)") }
    }

    static func checkEmail(_ email: String, bytesMax: Int) throws(EngramError) {
        var email = email
        let problem: Problem? = email.withUTF8 { emailProblem(UnsafeRawBufferPointer($0), bytesMax: bytesMax) }
        if let problem { throw EngramError(problem.code, "email \(problem.description)") }
    }

    /// ASCII letters lowered; every other byte kept (docs/RECORDS.md, "Email case").
    @inline(__always)
    static func folded(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// A stored text as a `String`, nil if it is not UTF-8. Validated here, then decoded through
    /// a typed buffer: `String(validating:as:)` is not specialised in the standard library and
    /// spent most of a lead query's time in generic-metadata lookups.
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard UTF8Validation.firstInvalidOffset(bytes) == nil else { return nil }
        return bytes.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) }
    }

    /// A copy of stored bytes, in one `memcpy`.
    static func bytes(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            if let base = buffer.baseAddress, bytes.count > 0 { UnsafeMutableRawPointer(base).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            count = bytes.count
        }
    }

    static func folded(_ email: String) -> String {
        String(decoding: email.utf8.map(folded), as: UTF8.self)
    }
}

/// Well-formed UTF-8 as the Unicode Standard defines it (Table 3-7): no overlong forms, no
/// surrogates, nothing past U+10FFFF, no truncated sequence.
enum UTF8Validation {
    static func firstInvalidOffset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length = sequenceLength(bytes, at: index)
            if length == 0 { return index }
            index += length
        }
        return nil
    }

    /// The length of the well-formed multi-byte sequence at `index`, or 0 if there is none.
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int {
        let lead = bytes[index]
        let remaining = bytes.count - index
        func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            offset < remaining && bytes[index + offset] >= low && bytes[index + offset] <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0, 0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90, 0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}

extension String {
    /// `withUTF8` for bodies with typed throws (see `Array.withBytes`); copies only a string that
    /// is not stored contiguously.
    func withUTF8Bytes<Result>(_ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
        var text = self
        let result = text.withUTF8 { buffer in Swift.Result { () throws(EngramError) -> Result in try body(UnsafeRawBufferPointer(buffer)) } }
        return try result.get()
    }
}
