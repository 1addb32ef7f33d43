@testable import EngramAgents
import Testing

struct LatencyHistogramTests {
    @Test func percentilesAreWithinOneBucket() {
        let histogram = LatencyHistogram()
        for value in 1...1_000 { histogram.record(microseconds: value) }
        #expect(histogram.count == 1_000)
        #expect(histogram.meanMicroseconds == 500.5)
        for (quantile, exact) in [(0.5, 500.0), (0.99, 990.0), (1.0, 1_000.0)] {
            let estimate = histogram.percentileMicroseconds(quantile)
            #expect(estimate >= exact && estimate <= exact * 1.13, "p\(quantile): \(estimate)")
        }
        #expect(LatencyHistogram().percentileMicroseconds(0.5) == 0)
    }

    @Test func bucketsGrowMonotonicallyAndCapAtTheTop() {
        var previous = -1
        for value in [1, 2, 3, 7, 8, 9, 15, 16, 100, 1_000, 1 << 20, 1 << 25] {
            let bucket = LatencyHistogram.bucket(value)
            #expect(bucket > previous, "\(value)")
            #expect(LatencyHistogram.upperMicroseconds(bucket) > Double(value))
            previous = bucket
        }
        #expect(LatencyHistogram.bucket(Int.max) == LatencyHistogram.octaveCount * LatencyHistogram.subBucketCount - 1)
    }
}
