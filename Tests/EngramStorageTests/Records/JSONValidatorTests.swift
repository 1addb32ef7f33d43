@testable import EngramStorage
import Testing

@Suite struct JSONValidatorTests {
    func failure(_ text: String, depthMax: Int = 32) -> JSONValidator.Failure? {
        failure(bytes(text), depthMax: depthMax)
    }

    func failure(_ data: [UInt8], depthMax: Int = 32) -> JSONValidator.Failure? {
        data.withUnsafeBytes { buffer in
            do throws(JSONValidator.Failure) {
                try JSONValidator.validate(buffer, depthMax: depthMax)
                return nil
            } catch {
                return error
            }
        }
    }

    @Test func acceptsEveryKindOfValue() {
        let valid = [
            "{}", "[]", "0", "-0", "12.5e-3", "1E+9", "-1.0", "true", "false", "null", "\"\"", " \t\r\n{ \"a\" : [ 1 , 2 , { } , [ ] ] } \n",
            "{\"a\":{\"b\":{\"c\":null}},\"d\":[true,false]}", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
            "\"é 日本 😀\"", "{\"a\":1,\"a\":2}", "[\"\\u0001\"]",
        ]
        for text in valid { #expect(failure(text) == nil, "\(text)") }
    }

    @Test func refusesWithTheOffsetAndReason() {
        let cases: [(String, Int, String)] = [
            ("", 0, "the text ends where a value was expected"),
            ("   ", 3, "the text ends where a value was expected"),
            ("{", 1, "the text ends where a member name was expected"),
            ("{\"a\"", 4, "the text ends where \":\" was expected"),
            ("{\"a\":1", 6, "the text ends inside an object"),
            ("[1,]", 3, "unexpected byte 0x5d where a value was expected"),
            ("{\"a\":1,}", 7, "a member name (a string) expected"),
            ("{a:1}", 1, "a member name (a string) expected"),
            ("[1 2]", 3, "\",\" or \"]\" expected"),
            ("{\"a\":1 \"b\":2}", 7, "\",\" or \"}\" expected"),
            ("01", 1, "a number has a leading zero"),
            ("-", 1, "a digit expected"),
            ("1.", 2, "a digit expected after the decimal point"),
            (".5", 0, "unexpected byte 0x2e where a value was expected"),
            ("1e", 2, "a digit expected in the exponent"),
            ("+1", 0, "unexpected byte 0x2b where a value was expected"),
            ("NaN", 0, "unexpected byte 0x4e where a value was expected"),
            ("tru", 0, "invalid literal (expected true)"),
            ("nul1", 0, "invalid literal (expected null)"),
            ("1 2", 2, "text after the JSON value"),
            ("{}//", 2, "text after the JSON value"),
            ("\"abc", 4, "the text ends inside a string"),
            ("\"a\tb\"", 2, "control byte 0x9 in a string must be escaped"),
            ("\"\\x\"", 1, "invalid escape \\x"),
            ("\"\\u12\"", 1, "a \\u escape needs four hex digits"),
            ("\"\\u0000\"", 1, "\\u0000 is refused (jsonb cannot hold it)"),
            ("\"\\uDE00\"", 1, "a low surrogate escape without a high one before it"),
            ("\"\\uD83D\"", 1, "a high surrogate escape must be followed by a low surrogate escape"),
            ("\"\\uD83D\\u0041\"", 1, "a high surrogate escape must be followed by a low surrogate escape"),
        ]
        for (text, offset, reason) in cases {
            #expect(failure(text) == JSONValidator.Failure(offset: offset, reason: reason), "\(text)")
        }
    }

    @Test func refusesBytesThatAreNotUTF8() {
        #expect(failure([0xEF, 0xBB, 0xBF] + bytes("{}")) == JSONValidator.Failure(offset: 0, reason: "unexpected byte 0xef where a value was expected"), "a byte-order mark")
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(failure([0x22, 0x61] + bad + [0x22]) == JSONValidator.Failure(offset: 2, reason: "a string is not well-formed UTF-8"), "\(bad)")
        }
    }

    @Test func nestingIsBoundedExactly() {
        let inside = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(failure(inside) == nil, "32 levels are allowed")
        let objects = String(repeating: "{\"k\":", count: 32) + "1" + String(repeating: "}", count: 32)
        #expect(failure(objects) == nil)
        #expect(failure("[" + inside + "]") == JSONValidator.Failure(offset: 32, reason: "nesting deeper than 32"))
        #expect(failure("[[1]]", depthMax: 1) == JSONValidator.Failure(offset: 1, reason: "nesting deeper than 1"))
        // A million open brackets cost neither stack nor more than the bound's memory.
        #expect(failure(String(repeating: "[", count: 1_000_000)) == JSONValidator.Failure(offset: 32, reason: "nesting deeper than 32"))
    }

    /// Random documents built from the grammar are all accepted; each with one byte cut off the end
    /// (when that leaves an incomplete document) is refused.
    @Test func randomDocumentsFromTheGrammar() {
        var generator = SplitMix64(seed: 11)
        func value(_ depth: Int) -> String {
            switch generator.below(depth > 5 ? 4 : 6) {
            case 0: return ["true", "false", "null"][generator.below(3)]
            case 1: return ["0", "-12", "3.25", "1e5", "-0.5E-7", "42"][generator.below(6)]
            case 2: return ["\"\"", "\"plain\"", "\"é\\n\\u00e9\"", "\"\\uD834\\uDD1E\"", "\"日本\""][generator.below(5)]
            case 3: return "\"k\(generator.below(100))\""
            case 4: return "[" + (0..<generator.below(4)).map { _ in value(depth + 1) }.joined(separator: ", ") + "]"
            default: return "{" + (0..<generator.below(4)).map { index in "\"m\(index)\" :\(value(depth + 1))" }.joined(separator: ",") + "}"
            }
        }
        for _ in 0..<2_000 {
            let document = value(0)
            #expect(failure(document) == nil, "\(document)")
            if document.hasPrefix("[") || document.hasPrefix("{") || document.hasPrefix("\"") {
                #expect(failure(String(document.dropLast())) != nil, "\(document) without its last byte")
            }
        }
    }
}
