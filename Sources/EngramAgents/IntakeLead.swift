import EngramProtocol

/// A new lead as the intake gives it to triage: who they are and what they did before they
/// became a lead. The JSONL and CSV intake files use these field names (docs/AGENTS.md, "Intake").
///
/// `id` is the lead's record id; a file may leave it out, and then it is derived from the email,
/// so importing the same file twice updates the same leads instead of adding copies.
public struct IntakeLead: Sendable, Hashable, Codable {
    public var id: String?
    public var email: String
    public var name: String
    public var company: String
    /// The company's web domain, the key of what long-term memory knows about the company.
    public var domain: String
    public var title: String
    public var employees: Int
    /// Where the lead came from: web, referral, webinar, paid-search, event, purchased-list, ...
    public var source: String
    public var pageViews: Int
    public var pricingPageViews: Int
    public var downloads: Int
    public var demoRequested: Bool

    public init(id: String? = nil, email: String, name: String = "", company: String = "", domain: String = "", title: String = "", employees: Int = 0, source: String = "", pageViews: Int = 0, pricingPageViews: Int = 0, downloads: Int = 0, demoRequested: Bool = false) {
        self.id = id
        self.email = email
        self.name = name
        self.company = company
        self.domain = domain
        self.title = title
        self.employees = employees
        self.source = source
        self.pageViews = pageViews
        self.pricingPageViews = pricingPageViews
        self.downloads = downloads
        self.demoRequested = demoRequested
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, email, name, company, domain, title, employees, source, pageViews, pricingPageViews, downloads, demoRequested
    }

    /// Every field but `email` may be left out of an intake line.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        email = try container.decode(String.self, forKey: .email)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        company = try container.decodeIfPresent(String.self, forKey: .company) ?? ""
        domain = try container.decodeIfPresent(String.self, forKey: .domain) ?? ""
        title = try container.decodeIfPresent(String.self, forKey: .title) ?? ""
        employees = try container.decodeIfPresent(Int.self, forKey: .employees) ?? 0
        source = try container.decodeIfPresent(String.self, forKey: .source) ?? ""
        pageViews = try container.decodeIfPresent(Int.self, forKey: .pageViews) ?? 0
        pricingPageViews = try container.decodeIfPresent(Int.self, forKey: .pricingPageViews) ?? 0
        downloads = try container.decodeIfPresent(Int.self, forKey: .downloads) ?? 0
        demoRequested = try container.decodeIfPresent(Bool.self, forKey: .demoRequested) ?? false
    }

    /// The record id: `id` when given (8-4-4-4-12 hex), else derived from the lower-cased email.
    public var recordID: WireUUID? {
        if let id { return WireUUID(id) }
        var random = SeededRandom(mixing: SeededRandom.hash(email.lowercased()), 0x1EAD)
        return WireUUID(bytes: random.uuidBytes())
    }

    /// The company's domain: `domain`, else the part of the email after `@`.
    public var companyDomain: String {
        if !domain.isEmpty { return domain.lowercased() }
        guard let at = email.lastIndex(of: "@") else { return "" }
        return String(email[email.index(after: at)...]).lowercased()
    }
}

/// The segment a lead's company falls in, by head count; campaigns and templates differ by it.
public enum Segment: String, Sendable, Hashable, Codable, CaseIterable {
    case smb
    case midmarket
    case enterprise

    public init(employees: Int) {
        switch employees {
        case 1_000...: self = .enterprise
        case 200..<1_000: self = .midmarket
        default: self = .smb
        }
    }
}
