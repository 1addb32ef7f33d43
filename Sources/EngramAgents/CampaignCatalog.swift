import EngramProtocol

/// The campaigns a run engages leads with, and the message templates per segment.
///
/// Campaign ids are derived from the name alone, so a second run against the same server finds
/// the campaigns (and what was learned about them) again.
public struct CatalogCampaign: Sendable, Hashable {
    public let name: String
    public let type: String
    public let budgetCents: Int64

    public var id: WireUUID {
        var random = SeededRandom(mixing: SeededRandom.hash("campaign/" + name))
        return WireUUID(bytes: random.uuidBytes())
    }
}

public struct MessageTemplate: Sendable, Hashable {
    public let name: String
    public let subject: String
}

public enum CampaignCatalog {
    public static let campaigns: [CatalogCampaign] = [
        CatalogCampaign(name: "Spring Webinar", type: "webinar", budgetCents: 500_000),
        CatalogCampaign(name: "Product Tour", type: "email-drip", budgetCents: 300_000),
        CatalogCampaign(name: "ROI Case Study", type: "content", budgetCents: 400_000),
        CatalogCampaign(name: "Free Trial", type: "trial", budgetCents: 600_000),
    ]

    /// Three templates per segment; which one works best for a segment is for engagement to learn.
    public static let templates: [MessageTemplate] = [
        MessageTemplate(name: "quick-start", subject: "Up and running in an afternoon"),
        MessageTemplate(name: "peer-proof", subject: "How teams like yours use it"),
        MessageTemplate(name: "roi-story", subject: "The numbers behind the switch"),
    ]

    public static func index(of id: WireUUID) -> Int? {
        campaigns.firstIndex { $0.id == id }
    }
}
