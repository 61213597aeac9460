extension ConsoleState {
    /// Applies one key press. Modal layers (dialogs, help, filter editing) see keys first;
    /// otherwise the keymap decides. Returns what the engine must do, if anything.
    public mutating func handle(_ key: Key, keymap: Keymap = .standard) -> ConsoleCommand? {
        if key == .ctrlC { shouldQuit = true; return .quit }
        if key == .resize { return nil }
        if case .mouse(let event) = key { return handleMouse(event) }
        if let overlay { return handleOverlay(overlay, key) }
        if isEditingFilter { editFilter(key); return nil }
        if zoom != nil { return handleZoom(key) }
        return keymap.action(for: key, focus: focus).flatMap { apply($0) }
    }

    private mutating func handleOverlay(_ current: Overlay, _ key: Key) -> ConsoleCommand? {
        switch current {
        case .message:
            overlay = nil
        case .trainingForm(var form):
            switch form.handle(key) {
            case .editing: overlay = .trainingForm(form)
            case .cancel: overlay = nil
            case .submit:
                overlay = nil
                return .beginTraining(form)
            }
        case .help:
            if [.char("q"), .escape, .char("?"), .function(1), .enter].contains(key) { overlay = nil }
        case .confirm(let question):
            // Only an explicit "y" confirms; Enter takes the default, which is No.
            guard key == .char("y") || key == .char("Y") else {
                if [.char("n"), .char("N"), .escape, .enter, .char("q")].contains(key) { overlay = nil }
                return nil
            }
            overlay = nil
            switch question {
            case .export: return startExport()
            case .quitWhileTraining: shouldQuit = true; return .quit
            }
        }
        return nil
    }

    /// While zoomed: arrows pan a quarter of the view, +/- scale by 1.5, a centres the anomaly map's peak.
    private mutating func handleZoom(_ key: Key) -> ConsoleCommand? {
        switch key {
        case .char("z"), .char("q"), .escape: zoom = nil
        case .left, .char("h"): zoom?.pan(x: -0.25, y: 0)
        case .right, .char("l"): zoom?.pan(x: 0.25, y: 0)
        case .up, .char("k"): zoom?.pan(x: 0, y: -0.25)
        case .down, .char("j"): zoom?.pan(x: 0, y: 0.25)
        case .char("+"), .char("="): zoom?.magnify(by: 1.5)
        case .char("-"): zoom?.magnify(by: 1 / 1.5)
        case .char("a"):
            if let peak = inspected?.peak { zoom?.focus(x: peak.x, y: peak.y) } else { status = "no anomaly map for this image" }
        case .char("v"): return apply(.cycleInspectorView)
        default: break
        }
        return nil
    }

    private mutating func editFilter(_ key: Key) {
        switch key {
        case .enter: isEditingFilter = false
        case .escape: filter = ""; isEditingFilter = false
        case .backspace: if !filter.isEmpty { filter.removeLast() }
        case .char(let c): filter.append(c)
        default: break
        }
    }

    public mutating func apply(_ action: KeyAction) -> ConsoleCommand? {
        switch action {
        case .focusNext: focus = PaneID(rawValue: focus.rawValue % 4 + 1)!
        case .focusPrevious: focus = PaneID(rawValue: (focus.rawValue + 2) % 4 + 1)!
        case .focusPane(let p): focus = p
        case .moveDown: return select(selected + 1)
        case .moveUp: return select(selected - 1)
        case .pageDown: return select(selected + listPageSize)
        case .pageUp: return select(selected - listPageSize)
        case .top: return select(0)
        case .bottom: return select(visibleRows.count - 1)
        case .open:
            guard let row = selectedRow else { return nil }
            focus = .inspector
            live?.followNewest = false
            return .inspect(imageID: row.id)
        case .startFilter: isEditingFilter = true
        case .toggleSort:
            let orders: [SortOrder] = live == nil ? [.score, .name] : [.arrival, .score, .name]
            sort = orders[((orders.firstIndex(of: sort) ?? 0) + 1) % orders.count]
        case .followNewest:
            guard live != nil else { return nil }
            live?.followNewest = true
            status = "the inspector follows the newest flagged image"
        case .nextGroup: moveScope(by: 1)
        case .previousGroup: moveScope(by: -1)
        case .toggleFlag:
            guard let id = selectedRow?.id, let i = rows.firstIndex(where: { $0.id == id }) else { return nil }
            rows[i].manuallyFlagged.toggle()
        case .startTraining:
            switch training.phase {
            case .running: return nil
            case .paused:
                training.phase = .running
                return .resumeTraining
            default: return .startTraining
            }
        case .pauseTraining:
            guard training.phase == .running else { return nil }
            training.phase = .paused
            return .pauseTraining
        case .stopTraining:
            guard [.running, .paused].contains(training.phase) else { return nil }
            status = "stopping after the current step…"
            return .stopTraining
        case .toggleLogScale: logScale.toggle()
        case .cycleInspectorView: inspectorView = Self.next(inspectorView, in: InspectorView.allCases)
        case .toggleOutlines: showOutlines.toggle()
        case .zoom:
            if inspected == nil { status = "Enter opens an image to zoom" } else { zoom = Zoom() }
        case .cycleColorDepth:
            let all = ColorDepth.allCases
            colorDepth = Self.next(colorDepth, in: Array(all[all.firstIndex(of: maximumColorDepth)!...]))
        case .thresholdFineUp: nudgeThreshold(by: 0.01)
        case .thresholdFineDown: nudgeThreshold(by: -0.01)
        case .thresholdCoarseUp: nudgeThreshold(by: 0.1)
        case .thresholdCoarseDown: nudgeThreshold(by: -0.1)
        case .thresholdF1Optimal: choose(.f1)
        case .thresholdPercentile: choose(.percentile(99))
        case .thresholdNoEscape: choose(.noEscape)
        case .thresholdStored:
            guard let stored = storedThreshold(of: thresholdFocus) else { status = "no stored threshold"; return nil }
            setThreshold(stored, of: thresholdFocus)
        case .saveThreshold:
            let value = threshold(of: thresholdFocus)
            setStoredThreshold(value, of: thresholdFocus)
            return .saveThreshold(value, rule: currentThresholdRule(of: thresholdFocus))
        case .toggleDisagreements:
            guard comparison != nil else { status = "one model open: --model A --model B compares two"; return nil }
            disagreementsOnly.toggle()
            status = disagreementsOnly ? "\(disagreementCount) images flagged by one model only" : "all images"
        case .switchThresholdModel:
            guard let comparison else { status = "one model open: --model A --model B compares two"; return nil }
            thresholdFocus = thresholdFocus.other
            status = "threshold keys act on model \(thresholdFocus.rawValue) (\(modelPath(of: thresholdFocus) ?? comparison.modelPath))"
        case .export:
            let n = exportCount
            if n == 0 { status = "nothing is flagged" } else { overlay = .confirm(.export(count: n, destination: exportDestination)) }
        case .cycleTheme: themeIndex = (themeIndex + 1) % max(themeNames.count, 1)
        case .cycleColormap: colormapIndex = (colormapIndex + 1) % max(colormapNames.count, 1)
        case .help: overlay = .help
        case .back:
            if !filter.isEmpty { filter = "" } else if focus != .dataset { focus = .dataset }
        case .quit:
            if training.phase == .running { overlay = .confirm(.quitWhileTraining) } else { shouldQuit = true; return .quit }
        case .forceQuit:
            shouldQuit = true
            return .quit
        }
        return nil
    }

    private mutating func startExport() -> ConsoleCommand? {
        guard !exporting else { status = "an export is already running"; return nil }
        guard modelPath != nil else { status = "no model open: nothing was scored"; return nil }
        exporting = true
        status = "exporting to \(exportDestination)…"
        return .exportFlagged(imageIDs: flaggedRows.map(\.id))
    }

    /// Moves the selection; while the inspector has focus it follows the selection.
    private mutating func select(_ index: Int) -> ConsoleCommand? {
        let before = selectedRow?.id
        selected = min(max(index, 0), max(visibleRows.count - 1, 0))
        guard focus == .inspector, let row = selectedRow, row.id != before else { return nil }
        return .inspect(imageID: row.id)
    }

    private mutating func moveScope(by step: Int) {
        let all = treeScopes
        guard !all.isEmpty else { return }
        let i = all.firstIndex(of: scope) ?? 0
        scope = all[min(max(i + step, 0), all.count - 1)]
        selected = 0
    }

    /// Steps are fractions of the observed score span, so they suit any score scale.
    private mutating func nudgeThreshold(by fraction: Double) {
        let r = scoreRange(of: thresholdFocus)
        setThreshold(threshold(of: thresholdFocus) + fraction * (r.upperBound - r.lowerBound), of: thresholdFocus)
    }

    private static func next<T: Equatable>(_ value: T, in all: [T]) -> T {
        guard let i = all.firstIndex(of: value) else { return all[0] }
        return all[(i + 1) % all.count]
    }
}
