import EngramProtocol

/// libFuzzer's entry point for the frame target: `ProtocolFuzzEntryPoints.frame` traps on any broken
/// promise of the decoder, and libFuzzer keeps the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = ProtocolFuzzEntryPoints.frame(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
