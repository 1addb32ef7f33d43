#if canImport(Glibc)
import Glibc
#endif
import EngramProtocol

/// A built-in intake of realistic leads, deterministic under a seed: lead `index` depends only on
/// the seed and the index, so concurrent triage instances can take leads in any order and the run
/// is still the same run.
///
/// Leads come from a pool of companies (so what long-term memory learns about a company is used
/// again), with head counts spread log-uniformly from 5 to 20,000, job titles from individual
/// contributors to chiefs, the sources a B2B funnel sees with their usual proportions, and intent
/// signals (page views, pricing-page views, downloads, demo requests) that grow with seniority and
/// source quality. About one lead in ten uses a free-mail address. Emails are unique per index.
public struct LeadGenerator: Sendable {
    public let seed: UInt64
    public let companyCount: Int

    public init(seed: UInt64, companyCount: Int = 400) {
        precondition(companyCount > 0, "a generator needs at least one company, got \(companyCount)")
        self.seed = seed
        self.companyCount = companyCount
    }

    /// Sources with their share of a typical inbound mix.
    public static let sources: [(name: String, share: Double)] = [
        ("web", 0.30), ("paid-search", 0.20), ("referral", 0.10), ("webinar", 0.12),
        ("event", 0.08), ("social", 0.12), ("purchased-list", 0.08),
    ]
    /// Titles with their share and a seniority rank (0 individual, 4 chief).
    static let titles: [(title: String, share: Double, rank: Int)] = [
        ("Software Engineer", 0.16, 0), ("Marketing Specialist", 0.14, 0), ("Analyst", 0.10, 0),
        ("Marketing Manager", 0.14, 1), ("Engineering Manager", 0.08, 1), ("Sales Manager", 0.06, 1),
        ("Director of Marketing", 0.09, 2), ("Director of Engineering", 0.05, 2),
        ("VP Marketing", 0.07, 3), ("VP Sales", 0.04, 3),
        ("CMO", 0.03, 4), ("CTO", 0.02, 4), ("CEO", 0.02, 4),
    ]
    static let firstNames = ["Ann", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Yara", "Zoe"]
    static let lastNames = ["Lee", "Garcia", "Okafor", "Novak", "Smith", "Tanaka", "Muller", "Rossi", "Khan", "Silva", "Berg", "Dubois", "Kowalski", "Nguyen", "Haddad", "Larsen", "Moreau", "Patel", "Reyes", "Walsh"]
    static let companyWords = ["Acme", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pioneer", "Quartz", "River", "Summit", "Tidal"]
    static let companyKinds = ["Robotics", "Analytics", "Health", "Logistics", "Foods", "Energy", "Software", "Capital", "Labs", "Media"]
    static let freeMailDomains = ["gmail.com", "yahoo.com", "outlook.com", "proton.me"]

    /// The company at `index` of the pool: name, domain and head count.
    public func company(_ index: Int) -> (name: String, domain: String, employees: Int) {
        var random = SeededRandom(mixing: seed, 0xC0, UInt64(index))
        let word = Self.companyWords[Int(random.next() % UInt64(Self.companyWords.count))]
        let kind = Self.companyKinds[Int(random.next() % UInt64(Self.companyKinds.count))]
        // Log-uniform head count from 5 to 20,000: many small companies, few large ones.
        let employees = Int(5 * pow(4_000, random.nextUnit()))
        let name = "\(word) \(kind) \(index)"
        return (name, "\(word)-\(kind)-\(index).example".lowercased(), employees)
    }

    /// The lead at `index`.
    public func lead(_ index: Int) -> IntakeLead {
        var random = SeededRandom(mixing: seed, 0x1EAD, UInt64(index))
        let company = company(Int(random.next() % UInt64(companyCount)))
        let first = Self.firstNames[Int(random.next() % UInt64(Self.firstNames.count))]
        let last = Self.lastNames[Int(random.next() % UInt64(Self.lastNames.count))]
        let title = Self.titles[random.pick(weights: Self.titles.map(\.share))!]
        let source = Self.sources[random.pick(weights: Self.sources.map(\.share))!].name
        let freeMail = random.chance(0.10)
        let domain = freeMail ? Self.freeMailDomains[Int(random.next() % UInt64(Self.freeMailDomains.count))] : company.domain
        let email = "\(first).\(last).\(index)@\(domain)".lowercased()
        // Intent grows with seniority and with sources whose visitors arrive looking to buy.
        let sourceIntent: Double = switch source {
        case "referral", "webinar": 1.4
        case "web", "event": 1.0
        case "purchased-list": 0.3
        default: 0.7
        }
        let intent = sourceIntent * (0.6 + 0.2 * Double(title.rank))
        let pageViews = Int(Double(random.next() % 12) * intent)
        let pricingPageViews = random.chance(Swift.min(0.35 * intent, 0.9)) ? 1 + Int(random.next() % 3) : 0
        let downloads = random.chance(Swift.min(0.3 * intent, 0.9)) ? 1 + Int(random.next() % 2) : 0
        let demoRequested = random.chance(Swift.min(0.12 * intent, 0.6))
        var id = SeededRandom(mixing: seed, 0x1D, UInt64(index))
        return IntakeLead(
            id: WireUUID(bytes: id.uuidBytes()).description, email: email, name: "\(first) \(last)", company: company.name,
            domain: company.domain, title: title.title, employees: company.employees, source: source,
            pageViews: pageViews, pricingPageViews: pricingPageViews, downloads: downloads, demoRequested: demoRequested)
    }
}
