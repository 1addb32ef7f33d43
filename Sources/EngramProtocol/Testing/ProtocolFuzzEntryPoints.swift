/// The protocol's decoders, opened to the fuzz targets in `Fuzz/` (a package of its own, which
/// sees only public API) and to the tests that replay what they found, as `FuzzEntryPoints` does
/// for the storage engine.
///
/// One function per target. Each runs the real decoder on the fuzzer's bytes and checks what it
/// returns: it must not crash; what it accepts must be exactly what the bytes encode; what it
/// refuses it must refuse with the error docs/PROTOCOL.md gives. A broken promise traps with a
/// message naming the target, so libFuzzer keeps the input. Each returns whether the decoder
/// accepted the input, which the seed tests use to check that every seed reaches past the first
/// checks. The input formats are in docs/TESTING.md. Stateless and thread-safe.
public enum ProtocolFuzzEntryPoints {
    /// A byte stream cut into chunks and fed to `FrameDecoder` twice, as the server drives it
    /// (`decodeFrame` over its own cumulation) and through NIO's
    /// `NIOSingleStepByteToMessageProcessor` (as `ByteToMessageHandler` does for the client),
    /// both checked against a model of docs/PROTOCOL.md, "Frames".
    public static func frame(_ input: UnsafeRawBufferPointer) -> Bool { FrameFuzzTarget.run(input) }

    /// One request or response body of any opcode (`Request.decode`, `Response.decode`, and
    /// `ShortTermRequestView.parse` against `Request.decode` for short-term gets and puts).
    public static func message(_ input: UnsafeRawBufferPointer) -> Bool { MessageFuzzTarget.run(input) }

    /// The opcodes the message target's first byte picks from (modulo their count): every request
    /// opcode of version 1, going away, and `undefinedOpcode`.
    public static var messageOpcodes: [Opcode] { MessageFuzzTarget.opcodes }
    /// An opcode no version defines, in the reserved range.
    public static var undefinedOpcode: Opcode { MessageFuzzTarget.undefinedOpcode }

    /// Every target by its name in `Fuzz/` (the folder under `Fuzz/Targets/` and `Fuzz/Corpus/`).
    public static let targets: [(name: String, run: @Sendable (UnsafeRawBufferPointer) -> Bool)] = [
        ("frame", frame),
        ("message", message),
    ]
}

/// A broken promise: traps so libFuzzer keeps the input. `fatalError`, because an optimized build
/// drops the message of a `precondition`.
func protocolFuzzCheck(_ condition: @autoclosure () -> Bool, _ target: StaticString, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("\(target): \(message())") }
}

/// Where two byte strings first differ, for a check's message.
func protocolFirstDifference(_ expected: some Collection<UInt8>, _ actual: some Collection<UInt8>) -> String {
    let index = zip(expected, actual).firstIndex { $0.0 != $0.1 } ?? min(expected.count, actual.count)
    return "first difference at byte \(index) (\(expected.count) bytes given, \(actual.count) encoded)"
}

extension Sequence {
    fileprivate func firstIndex(where predicate: (Element) -> Bool) -> Int? {
        var index = 0
        for element in self {
            if predicate(element) { return index }
            index += 1
        }
        return nil
    }
}
