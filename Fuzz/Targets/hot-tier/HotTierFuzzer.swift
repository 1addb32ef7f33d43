import EngramStorage

/// libFuzzer's entry point for the hot-tier target: `FuzzEntryPoints.hotTier` traps on any broken
/// promise of the decoder, and libFuzzer keeps the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FuzzEntryPoints.hotTier(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
