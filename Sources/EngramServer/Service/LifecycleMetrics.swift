import CoreMetrics
import EngramStorage
import Synchronization

/// Counters of consolidation passes and erasures (docs/OPERATIONS.md, "Metrics"), fed by the
/// store's events: a background pass and one asked for over the wire are counted alike. Each
/// figure is a Prometheus counter and a total kept here, so `stats` reads the same totals.
final class LifecycleMetrics: Sendable {
    /// Every figure: its Prometheus name, its stats name, and how a report adds to it.
    enum Figure: Int, CaseIterable {
        case passes, incompletePasses, failedPasses, expiredItems, foldedEvents, updatedLeads, trimmedSegments, passCommands
        case erasures, erasedNamespaces, erasedLeads, deletedKeys, deletedLeadRecords, droppedEpisodes, rewrittenSegments, erasureCommands

        var names: (prometheus: String, stats: String) {
            switch self {
            case .passes: ("engram_consolidation_passes_total", "lifecycle.passes")
            case .incompletePasses: ("engram_consolidation_passes_incomplete_total", "lifecycle.passes_incomplete")
            case .failedPasses: ("engram_consolidation_failures_total", "lifecycle.pass_failures")
            case .expiredItems: ("engram_consolidation_expired_items_total", "lifecycle.expired_items")
            case .foldedEvents: ("engram_consolidation_folded_events_total", "lifecycle.folded_events")
            case .updatedLeads: ("engram_consolidation_updated_leads_total", "lifecycle.updated_leads")
            case .trimmedSegments: ("engram_consolidation_trimmed_segments_total", "lifecycle.trimmed_segments")
            case .passCommands: ("engram_consolidation_writer_commands_total", "lifecycle.pass_commands")
            case .erasures: ("engram_erasures_total", "lifecycle.erasures")
            case .erasedNamespaces: ("engram_erased_namespaces_total", "lifecycle.erased_namespaces")
            case .erasedLeads: ("engram_erased_leads_total", "lifecycle.erased_leads")
            case .deletedKeys: ("engram_erasure_deleted_keys_total", "lifecycle.erasure_deleted_keys")
            case .deletedLeadRecords: ("engram_erasure_deleted_lead_records_total", "lifecycle.erasure_deleted_lead_records")
            case .droppedEpisodes: ("engram_erasure_dropped_episodes_total", "lifecycle.erasure_dropped_episodes")
            case .rewrittenSegments: ("engram_erasure_rewritten_segments_total", "lifecycle.erasure_rewritten_segments")
            case .erasureCommands: ("engram_erasure_writer_commands_total", "lifecycle.erasure_commands")
            }
        }
    }

    private let counters: [CoreMetrics.Counter]
    /// Rare (a pass a minute, an erase now and then), so one lock is cheap enough.
    private let totals: Mutex<[UInt64]>
    /// The longest time one command of the last pass held the writer: the pass's bound at work.
    private let longestCommand: CoreMetrics.Gauge
    let longestCommandMicroseconds = Atomic<UInt64>(0)

    init(factory: any MetricsFactory) {
        counters = Figure.allCases.map { CoreMetrics.Counter(label: $0.names.prometheus, factory: factory) }
        totals = Mutex([UInt64](repeating: 0, count: Figure.allCases.count))
        longestCommand = CoreMetrics.Gauge(label: "engram_consolidation_longest_command_microseconds", factory: factory)
    }

    private func add(_ figure: Figure, _ amount: Int) {
        guard amount > 0 else { return }
        counters[figure.rawValue].increment(by: Int64(amount))
        totals.withLock { $0[figure.rawValue] += UInt64(amount) }
    }

    func total(_ figure: Figure) -> UInt64 { totals.withLock { $0[figure.rawValue] } }

    /// Counts what a store event reports; other events are ignored.
    func record(_ event: StoreEvent) {
        switch event {
        case .consolidationPassed(let report):
            add(.passes, 1)
            add(.incompletePasses, report.moreWorkRemains ? 1 : 0)
            add(.expiredItems, report.expiredItemCount)
            add(.foldedEvents, report.foldedEventCount)
            add(.updatedLeads, report.updatedLeadCount)
            add(.trimmedSegments, report.trimmedSegmentCount)
            add(.passCommands, report.commandCount)
            longestCommand.record(Double(report.longestCommandMicroseconds))
            longestCommandMicroseconds.store(UInt64(report.longestCommandMicroseconds), ordering: .relaxed)
            if let erasure = report.erasure { recordErasure(erasure) }
        case .consolidationFailed:
            add(.failedPasses, 1)
        case .erasureRan(let report):
            add(.erasures, 1)
            recordErasure(report)
        default:
            break
        }
    }

    private func recordErasure(_ report: ErasureReport) {
        add(.erasedNamespaces, report.finishedNamespaceCount)
        add(.erasedLeads, report.finishedLeadCount)
        add(.deletedKeys, report.deletedKeyCount)
        add(.deletedLeadRecords, report.deletedLeadRecordCount)
        add(.droppedEpisodes, report.droppedEpisodeCount)
        add(.rewrittenSegments, report.rewrittenSegmentCount)
        add(.erasureCommands, report.commandCount)
    }

    /// Every figure under its stats name.
    var statistics: [(String, UInt64)] {
        Figure.allCases.map { ($0.names.stats, total($0)) } + [("lifecycle.longest_command_us", longestCommandMicroseconds.load(ordering: .relaxed))]
    }
}
