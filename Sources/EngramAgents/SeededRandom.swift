#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast generator whose whole state is one
/// `UInt64`, so every random choice of the agents can be replayed from a seed.
///
/// The agents derive a fresh generator per decision from the run's seed and the decision's own
/// identity (`SeededRandom(mixing:)`: a lead's id, a campaign's index, an optimizer round), so a
/// choice does not depend on the order in which concurrent instances happen to run. A value type;
/// each task owns its own.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator seeded from several values, mixed so that nearby inputs give unrelated streams.
    public init(mixing values: UInt64...) {
        var state: UInt64 = 0x243F_6A88_85A3_08D3
        for value in values { state = SeededRandom.mix(state ^ SeededRandom.mix(value)) }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// The SplitMix64 output function: a bijection on 64 bits with full avalanche.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a over the text, for seeding from names (a lead's email, a campaign's name).
    public static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// Uniform in [0, 1), from the top 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        nextUnit() < probability
    }

    /// A standard normal deviate (Box-Muller; the second value is dropped to keep the state small).
    public mutating func nextNormal() -> Double {
        let u1 = Swift.max(nextUnit(), 0x1.0p-53)
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A Gamma(shape, 1) deviate by Marsaglia and Tsang's method (2000); shape below 1 by the
    /// boost `Gamma(a) = Gamma(a + 1) * U^(1/a)`.
    public mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "a gamma shape must be positive, got \(shape)")
        if shape < 1 {
            return nextGamma(shape: shape + 1) * pow(Swift.max(nextUnit(), 0x1.0p-53), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(Swift.max(u, 0x1.0p-53)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A Beta(alpha, beta) deviate, as X / (X + Y) of two gamma deviates.
    public mutating func nextBeta(alpha: Double, beta: Double) -> Double {
        let x = nextGamma(shape: alpha)
        let y = nextGamma(shape: beta)
        return x / (x + y)
    }

    /// An index drawn with probability proportional to `weights` (which need not sum to 1); nil
    /// when every weight is zero or the list is empty.
    public mutating func pick(weights: [Double]) -> Int? {
        let total = weights.reduce(0) { $0 + Swift.max($1, 0) }
        guard total > 0 else { return nil }
        var target = nextUnit() * total
        for (index, weight) in weights.enumerated() where weight > 0 {
            target -= weight
            if target < 0 { return index }
        }
        return weights.lastIndex { $0 > 0 }
    }

    /// A version-4 UUID's 16 bytes from the generator.
    public mutating func uuidBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let word = next()
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes
    }
}
