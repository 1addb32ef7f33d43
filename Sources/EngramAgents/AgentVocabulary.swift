/// The episode kinds the agents append, one number per kind of event (docs/AGENTS.md, "Episode
/// kinds"); followers filter on them.
public enum EpisodeKind {
    /// A run began: its configuration. Agent `agents`.
    public static let runStarted: UInt16 = 1
    /// Every lead of the run's intake has been triaged: engagement stops here. Agent `agents`.
    public static let intakeFinished: UInt16 = 2
    /// A run ended: its summary. Agent `agents`.
    public static let runFinished: UInt16 = 3
    /// Triage's decision about one lead (`TriageDecision`). Agents `triage-N`.
    public static let leadTriaged: UInt16 = 10
    /// Triage adjusted its weights from observed conversions. Agents `triage-N`.
    public static let weightsAdjusted: UInt16 = 11
    /// Engagement sent an email (`SentEmail`). Agents `engagement-N`.
    public static let emailSent: UInt16 = 20
    public static let emailOpened: UInt16 = 21
    public static let emailClicked: UInt16 = 22
    public static let leadConverted: UInt16 = 23
    /// The optimizer's policy decision with its reason (`OptimizerPolicy`). Agents `optimization-N`.
    public static let policyDecided: UInt16 = 30
    /// The optimizer paused a campaign, with the reason. Agents `optimization-N`.
    public static let campaignPaused: UInt16 = 31

    public static func name(_ kind: UInt16) -> String {
        switch kind {
        case runStarted: "run.started"
        case intakeFinished: "intake.finished"
        case runFinished: "run.finished"
        case leadTriaged: "lead.triaged"
        case weightsAdjusted: "triage.weights_adjusted"
        case emailSent: "email.sent"
        case emailOpened: "email.opened"
        case emailClicked: "email.clicked"
        case leadConverted: "lead.converted"
        case policyDecided: "optimizer.policy"
        case campaignPaused: "campaign.paused"
        default: "kind \(kind)"
        }
    }
}

/// The keys of long-term and short-term memory the agents share (docs/AGENTS.md, "Keys").
public enum AgentKey {
    /// Long-term: triage's weights (`TriageWeights`), changed by compare-and-set.
    public static let triageWeights = "triage/weights"
    /// Long-term: conversions by feature (`FeatureStatistics`), added to by engagement.
    public static let featureStatistics = "learn/features"
    /// Long-term: the optimizer's current policy (`OptimizerPolicy`), changed by compare-and-set.
    public static let optimizerPolicy = "optimizer/policy"

    /// Long-term: what is known about a lead source (`Knowledge`).
    public static func source(_ name: String) -> String { "knowledge/source/" + name }
    /// Long-term: what is known about a company, by domain (`Knowledge`).
    public static func company(_ domain: String) -> String { "knowledge/company/" + domain }
    /// Long-term: clicks per template among one segment's sends (`TemplateStatistics`).
    public static func templates(_ segment: Segment) -> String { "learn/templates/" + segment.rawValue }
    /// Long-term: where an engagement instance's follow resumes (the stream position, as text).
    public static func followPosition(_ agent: String) -> String { "engagement/position/" + agent }
    /// Short-term: an agent instance's working context (the lead in hand, its counters).
    public static func workingContext(_ agent: String) -> String { "context/" + agent }
}
