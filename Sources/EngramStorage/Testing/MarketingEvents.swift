import FoundationEssentials

/// Realistic marketing events, deterministic from a seed: what the triage, engagement and
/// optimization agents record. For the episodic benchmarks, the load tool and tests.
///
/// Each event has a kind, a lead from a pool, usually a campaign from a pool of 100, and a body of
/// compact JSON with the channel, the UTM fields, the page, the user agent, a session, the client
/// address and, for some kinds, a score or an amount. `jsonLine` renders the same event as one
/// JSON line with every field (the form the reference compression ratios were measured on).
public struct MarketingEventGenerator: Sendable {
    public enum Kind: UInt16, CaseIterable, Sendable {
        case leadCreated = 1, leadScored, emailSent, emailOpened, emailClicked, pageViewed, formSubmitted, converted, decisionTaken

        public var name: String {
            switch self {
            case .leadCreated: "lead_created"
            case .leadScored: "lead_scored"
            case .emailSent: "email_sent"
            case .emailOpened: "email_opened"
            case .emailClicked: "email_clicked"
            case .pageViewed: "page_viewed"
            case .formSubmitted: "form_submitted"
            case .converted: "converted"
            case .decisionTaken: "decision_taken"
            }
        }
    }

    /// One generated event: the episode to append and the fields of its JSON line.
    public struct Event: Sendable {
        public let episode: NewEpisode
        public let kind: Kind

        /// The event as one JSON line with every field, at the given time.
        public func jsonLine(timestampMicroseconds: Int64) -> [UInt8] {
            var line = "{\"ts\":\(timestampMicroseconds),\"agent\":\"\(episode.agent)\",\"kind\":\"\(kind.name)\""
            if let lead = episode.lead { line += ",\"lead_id\":\"\(lead.uuidString.lowercased())\"" }
            if let campaign = episode.campaign { line += ",\"campaign_id\":\"\(campaign.uuidString.lowercased())\"" }
            var bytes = Array(line.utf8)
            // The body is a JSON object; splice its fields in after the header fields.
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: episode.body.dropFirst())
            bytes.append(UInt8(ascii: "\n"))
            return bytes
        }
    }

    static let channels = ["email", "email", "email", "web", "paid_search", "social", "organic"]
    static let sources = ["newsletter", "google", "linkedin", "facebook", "partner", "direct", "bing"]
    static let mediums = ["email", "cpc", "social", "referral", "organic", "display"]
    static let contents = ["hero-cta", "footer-link", "pricing-banner", "case-study", "webinar-invite", "demo-button"]
    static let pages = [
        "https://www.acme-analytics.com/pricing", "https://www.acme-analytics.com/pricing?plan=pro",
        "https://www.acme-analytics.com/demo", "https://www.acme-analytics.com/blog/attribution-models",
        "https://www.acme-analytics.com/case-studies/retail", "https://www.acme-analytics.com/features/dashboards",
        "https://www.acme-analytics.com/signup", "https://www.acme-analytics.com/webinars/q3-planning",
    ]
    static let userAgents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    ]
    static let campaignNames = ["spring-launch", "q3-webinar", "retargeting-pro", "enterprise-abm", "black-friday", "onboarding-drip", "winback", "partner-co-marketing"]

    private var generator: SplitMix64
    public let leadCount: Int
    public let campaignCount: Int
    public let agentCount: Int

    public init(seed: UInt64, leadCount: Int = 20_000, campaignCount: Int = 100, agentCount: Int = 12) {
        precondition(leadCount > 0 && campaignCount > 0 && agentCount > 0, "pools must not be empty")
        self.generator = SplitMix64(seed: seed)
        self.leadCount = leadCount
        self.campaignCount = campaignCount
        self.agentCount = agentCount
    }

    /// A UUID made from a pool index, so the same lead or campaign always has the same id.
    static func identifier(_ pool: UInt8, _ index: Int) -> UUID {
        var mixer = SplitMix64(seed: UInt64(pool) << 56 | UInt64(index))
        let high = mixer.next()
        let low = mixer.next()
        var bytes = [UInt8](repeating: 0, count: 16)
        for byte in 0..<8 {
            bytes[byte] = UInt8(truncatingIfNeeded: high >> (byte * 8))
            bytes[8 + byte] = UInt8(truncatingIfNeeded: low >> (byte * 8))
        }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return bytes.withUnsafeBytes { UUID(bytes: $0) }
    }

    private mutating func pick<Element>(_ choices: [Element]) -> Element {
        choices[Int(generator.next() % UInt64(choices.count))]
    }

    public mutating func next() -> Event {
        let kind = pick(Kind.allCases)
        let agentRoles = ["triage", "engagement", "optimization"]
        let agentIndex = Int(generator.next() % UInt64(agentCount))
        let agent = "\(agentRoles[agentIndex % 3])-\(agentIndex)"
        // A few leads are very active, most are quiet, as in real funnels.
        let leadIndex = Int((generator.next() % UInt64(leadCount)) * (generator.next() % 4 == 0 ? 1 : generator.next() % 100) / 100)
        let campaignIndex = Int(generator.next() % UInt64(campaignCount))
        let campaign = kind == .leadCreated && generator.next() % 3 == 0 ? nil : Self.identifier(2, campaignIndex)
        let source = pick(Self.sources)
        var body = "{\"channel\":\"\(pick(Self.channels))\",\"utm_source\":\"\(source)\",\"utm_medium\":\"\(pick(Self.mediums))\",\"utm_campaign\":\"\(Self.campaignNames[campaignIndex % Self.campaignNames.count])-\(campaignIndex)\",\"utm_content\":\"\(pick(Self.contents))\""
        body += ",\"page\":\"\(pick(Self.pages))\",\"user_agent\":\"\(pick(Self.userAgents))\""
        body += ",\"session\":\"\(String(generator.next() >> 1, radix: 16))\",\"ip\":\"203.0.\(generator.next() % 256).\(generator.next() % 256)\""
        switch kind {
        case .leadScored: body += ",\"score\":\(generator.next() % 100),\"model\":\"triage-v3\""
        case .converted: body += ",\"amount_cents\":\(generator.next() % 500_000),\"currency\":\"USD\""
        case .decisionTaken: body += ",\"decision\":\"\(pick(["nurture", "route_to_sales", "pause_campaign", "raise_bid", "send_followup"]))\",\"confidence\":0.\(generator.next() % 100)"
        case .emailSent, .emailOpened, .emailClicked: body += ",\"template\":\"\(pick(["welcome-1", "nurture-2", "promo-spring", "webinar-reminder"]))\""
        default: break
        }
        body += "}"
        let episode = NewEpisode(agent: agent, kind: kind.rawValue, lead: Self.identifier(1, leadIndex), campaign: campaign, body: Array(body.utf8))
        return Event(episode: episode, kind: kind)
    }
}
