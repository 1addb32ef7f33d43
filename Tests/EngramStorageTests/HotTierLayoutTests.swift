@testable import EngramStorage
import Testing

@Suite struct HotTierLayoutTests {
    @Test func theDefaultGeometryIsTheOneTheSpecDescribes() {
        let layout = HotTierLayout(Limits())
        #expect(layout.pageCount == 256)
        #expect(layout.classCount == 95)
        #expect(Array(layout.chunkBytes.prefix(12)) == [48, 56, 64, 72, 80, 88, 96, 112, 128, 144, 160, 176])
        #expect(Array(layout.chunkBytes.suffix(3)) == [466_248, 512_872, 1_048_576])
        #expect(layout.chunkBytes.allSatisfy { $0 % 8 == 0 })
        #expect(layout.bucketCount == 1_048_576)
        #expect(layout.generationCount == 65_536)
        #expect(layout.bookkeepingBytes == 4_689_664)
        #expect(layout.bookkeepingBytes <= Limits().hotTierBookkeepingBytesMax)
    }

    @Test func anItemGoesInTheSmallestClassThatHoldsIt() {
        let layout = HotTierLayout(hotTierLimits())
        #expect(layout.classIndex(forItemBytes: 1) == 0)
        #expect(layout.classIndex(forItemBytes: 48) == 0)
        #expect(layout.classIndex(forItemBytes: 49) == 1)
        #expect(layout.classIndex(forItemBytes: 441) == 10)
        #expect(layout.chunkBytes[10] == 1_024)
        #expect(layout.classIndex(forItemBytes: 1_024) == 10)
        #expect(layout.classIndex(forItemBytes: 1_025) == nil)
    }

    @Test func hotTierLimitsThatContradictEachOtherAreRefusedAtValidation() {
        func failure(_ change: (inout Limits) -> Void) -> String? {
            var limits = Limits()
            change(&limits)
            return syncEngramError { () throws(EngramError) in try limits.validate() }.map { "\($0.code): \($0.message)" }
        }
        #expect(failure { $0.hotTierBytes = (256 << 20) + 1 } == "limits invalid: hotTierBytes 268435457 must be a whole number of slab pages (hotTierSlabPageBytes 1048576)")
        #expect(failure { $0.hotTierBytes = 1 << 20 } == "limits invalid: hotTierBytes 1048576 must hold at least two slab pages of 1048576 bytes")
        #expect(failure { $0.hotTierSlabPageBytes = 1_000 } == "limits invalid: hotTierSlabPageBytes 1000 must be a multiple of 8 and at least 1024")
        #expect(failure { $0.hotTierStripeCount = 48 } == "limits invalid: hotTierStripeCount 48 must be a power of two")
        #expect(failure { $0.hotTierChunkGrowthPercent = 104 } == "limits invalid: hotTierChunkGrowthPercent 104 must be 105 to 200")
        #expect(failure { $0.hotTierChunkBytesMin = 24 } == "limits invalid: hotTierChunkBytesMin 24 must hold the 24-byte header and 8 bytes")
        #expect(failure { $0.hotTierBytes = 4 << 30 } == "limits invalid: the hot tier's index and tables take 70553344 bytes, over hotTierBookkeepingBytesMax 16777216; raise it or hotTierBytesPerIndexBucket")
        #expect(failure { $0.hotTierBytes = 32 << 30 } == "limits invalid: hotTierBytes 34359738368 must be below 34359738360: chunk references are 32-bit counts of 8-byte units")
        #expect(failure { $0.hotTierDefaultTTLSeconds = 31 * 86_400 } == "limits invalid: hotTierDefaultTTLSeconds 2678400 must be 0 to hotTierTTLSecondsMax 2592000")
        #expect(failure { $0.hotTierLongTermCachePercentMax = 101 } == "limits invalid: hotTierLongTermCachePercentMax 101 must be 0 to 100")
        #expect(failure { $0.hotTierSlabPageBytes = 1_024; $0.hotTierBytes = 4_096; $0.hotTierStripeCount = 64; $0.hotTierBytesPerIndexBucket = 1_024 } == "limits invalid: hotTierStripeCount 64 exceeds the 4 index buckets")
        #expect(failure { $0.hotTierMultiGetKeyCountMax = 0 } == "limits invalid: hotTierMultiGetKeyCountMax must be positive, got 0")
        #expect(failure { _ in } == nil)
    }
}
