/// What triage knows about a lead when it scores it: the lead's own signals and what long-term
/// memory says about its source and company, each turned into a number from 0 to 1 by a rule
/// simple enough to state in one line (docs/AGENTS.md, "Scoring").
public struct TriageFeatures: Sendable, Hashable, Codable {
    /// Job title: chief 1.0, vice-president 0.8, director 0.6, manager 0.4, anyone else 0.1.
    public var seniority: Double
    /// Head count: 1,000 or more 1.0, 200 to 999 0.7, 50 to 199 0.4, fewer 0.15.
    public var companySize: Double
    /// Demo requested 1.0; else pricing page seen 0.6; else a download 0.3; else 0.
    public var intent: Double
    /// Page views, 10 or more counting as 1.0.
    public var activity: Double
    /// The source's observed conversion rate (from long-term memory, smoothed toward the prior),
    /// relative to twice the prior, capped at 1; 0.5 for a source nobody has seen.
    public var sourceQuality: Double
    /// The company: 1.0 when one of its leads converted before, 0.2 when its leads were engaged
    /// without converting, 0.4 when unknown.
    public var companyHistory: Double
    /// 1 for a free-mail address (gmail.com, ...), which the weights count against the lead.
    public var freeMail: Double

    public static let names = ["seniority", "companySize", "intent", "activity", "sourceQuality", "companyHistory"]

    /// The positive features in the order of `names`.
    public var positive: [Double] { [seniority, companySize, intent, activity, sourceQuality, companyHistory] }

    public init(seniority: Double, companySize: Double, intent: Double, activity: Double, sourceQuality: Double, companyHistory: Double, freeMail: Double) {
        self.seniority = seniority
        self.companySize = companySize
        self.intent = intent
        self.activity = activity
        self.sourceQuality = sourceQuality
        self.companyHistory = companyHistory
        self.freeMail = freeMail
    }

    /// The conversion rate a source is assumed to have before any of its leads converted.
    public static let sourceConversionPrior = 0.06
    /// How many engaged leads the prior counts as, when smoothing a source's observed rate.
    public static let sourcePriorWeight = 50.0
    static let freeMailDomains: Set<String> = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "proton.me", "icloud.com"]

    public init(lead: IntakeLead, source: Knowledge?, company: Knowledge?) {
        seniority = Self.seniority(title: lead.title)
        companySize = switch lead.employees {
        case 1_000...: 1.0
        case 200..<1_000: 0.7
        case 50..<200: 0.4
        default: 0.15
        }
        intent = lead.demoRequested ? 1.0 : lead.pricingPageViews > 0 ? 0.6 : lead.downloads > 0 ? 0.3 : 0
        activity = Double(Swift.min(Swift.max(lead.pageViews, 0), 10)) / 10
        if let source, source.engaged > 0 {
            let smoothed = (Double(source.converted) + Self.sourceConversionPrior * Self.sourcePriorWeight) / (Double(source.engaged) + Self.sourcePriorWeight)
            sourceQuality = Swift.min(smoothed / (2 * Self.sourceConversionPrior), 1)
        } else {
            sourceQuality = 0.5
        }
        if let company, company.converted > 0 {
            companyHistory = 1.0
        } else if let company, company.engaged > 0 {
            companyHistory = 0.2
        } else {
            companyHistory = 0.4
        }
        let domain = lead.email.split(separator: "@").last.map { $0.lowercased() } ?? ""
        freeMail = Self.freeMailDomains.contains(domain) ? 1 : 0
    }

    static func seniority(title: String) -> Double {
        let words = Set(title.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init))
        if !words.isDisjoint(with: ["ceo", "cto", "cmo", "cfo", "coo", "chief", "founder", "owner", "president"]) && !words.contains("vice") { return 1.0 }
        if !words.isDisjoint(with: ["vp", "vice"]) { return 0.8 }
        if !words.isDisjoint(with: ["director", "head"]) { return 0.6 }
        if !words.isDisjoint(with: ["manager", "lead"]) { return 0.4 }
        return 0.1
    }
}

/// What long-term memory keeps about a source or a company (`knowledge/source/NAME`,
/// `knowledge/company/DOMAIN`): how many of its leads were engaged and how many converted.
/// Written by engagement, read by triage.
public struct Knowledge: Sendable, Hashable, Codable {
    public var engaged: Int
    public var converted: Int

    public init(engaged: Int = 0, converted: Int = 0) {
        self.engaged = engaged
        self.converted = converted
    }
}
