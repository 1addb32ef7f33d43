/// The simulated recipients standing in for real customers: how a lead answers an email depends
/// on the campaign, the lead's segment, the template and the lead's own quality, and is
/// deterministic under the run's seed (the same lead, campaign and template always answer the
/// same way, whichever engagement instance sends it and when).
///
/// Conversion is drawn first, and a conversion implies a click and a click an open, so the
/// counts always satisfy sent ≥ opened ≥ clicked ≥ converted.
public struct CustomerPopulation: Sendable {
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// Per campaign of `CampaignCatalog.campaigns`: the base conversion rate, and its multiplier
    /// per segment (smb, midmarket, enterprise). Free Trial is the best overall; ROI Case Study
    /// is the best for enterprise alone.
    static let conversion: [(base: Double, segment: [Double])] = [
        (0.030, [0.8, 1.0, 1.3]),
        (0.050, [1.2, 1.0, 0.7]),
        (0.045, [0.6, 1.1, 1.8]),
        (0.100, [1.3, 1.0, 0.8]),
    ]
    static let openRate: [Double] = [0.45, 0.40, 0.35, 0.50]
    static let clickGivenOpen: [Double] = [0.25, 0.30, 0.28, 0.32]
    /// Click multiplier per segment (row: smb, midmarket, enterprise) and template.
    static let templateClick: [[Double]] = [
        [1.30, 1.00, 0.80],
        [1.00, 1.25, 0.90],
        [0.85, 1.00, 1.35],
    ]

    public struct Response: Sendable, Hashable, Codable {
        public var opened: Bool
        public var clicked: Bool
        public var converted: Bool
    }

    /// How the lead's quality scales its chance to convert: about 1 for a typical qualified lead.
    static func quality(_ features: TriageFeatures) -> Double {
        0.4 + 0.9 * features.intent + 0.5 * features.seniority
    }

    public func conversionProbability(campaign: Int, segment: Segment, features: TriageFeatures) -> Double {
        let row = Self.conversion[campaign]
        return Swift.min(row.base * row.segment[Self.segmentIndex(segment)] * Self.quality(features), 0.95)
    }

    public func respond(leadKey: UInt64, campaign: Int, template: Int, segment: Segment, features: TriageFeatures) -> Response {
        precondition(Self.conversion.indices.contains(campaign), "campaign \(campaign) is not in the catalog")
        precondition(CampaignCatalog.templates.indices.contains(template), "template \(template) is not in the catalog")
        var random = SeededRandom(mixing: seed, 0xC057, leadKey, UInt64(campaign), UInt64(template))
        let converted = random.chance(conversionProbability(campaign: campaign, segment: segment, features: features))
        let opened = converted || random.chance(Self.openRate[campaign])
        let clickProbability = Swift.min(Self.clickGivenOpen[campaign] * Self.templateClick[Self.segmentIndex(segment)][template], 1)
        let clicked = converted || (opened && random.chance(clickProbability))
        return Response(opened: opened, clicked: clicked, converted: converted)
    }

    /// The campaign's conversion rate over qualified leads from `leads`, by exact expectation: what
    /// the optimizer should find best.
    public func expectedConversionRates(over leads: [(segment: Segment, features: TriageFeatures)]) -> [Double] {
        Self.conversion.indices.map { campaign in
            guard !leads.isEmpty else { return 0 }
            let total = leads.reduce(0.0) { $0 + conversionProbability(campaign: campaign, segment: $1.segment, features: $1.features) }
            return total / Double(leads.count)
        }
    }

    static func segmentIndex(_ segment: Segment) -> Int {
        switch segment {
        case .smb: 0
        case .midmarket: 1
        case .enterprise: 2
        }
    }
}
