/// The little JSON the CLI prints, written by hand to keep the tool free of Foundation.
indirect enum JSON: CustomStringConvertible {
    case string(String)
    case integer(UInt64)
    case number(Double)
    /// A number already written as JSON (a Float's shortest form).
    case float(Float)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    var description: String {
        switch self {
        case .string(let text): Self.quoted(text)
        case .integer(let value): "\(value)"
        case .number(let value): value.isFinite ? "\(value)" : "null"
        case .float(let value): value.isFinite ? "\(value)" : "null"
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        case .array(let items): "[" + items.map(\.description).joined(separator: ",") + "]"
        case .object(let fields): "{" + fields.map { Self.quoted($0.0) + ":" + $0.1.description }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// Bytes as a `value` field when they are UTF-8 text, else as `value_hex`.
    static func bytesField(_ name: String, _ bytes: [UInt8]) -> (String, JSON) {
        if let text = String(validating: bytes, as: UTF8.self) { return (name, .string(text)) }
        return (name + "_hex", .string(hex(bytes)))
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Bytes for people: the text when printable UTF-8, else `0x` and hex.
func display(_ bytes: [UInt8]) -> String {
    if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
        return text
    }
    return "0x" + hex(bytes)
}
