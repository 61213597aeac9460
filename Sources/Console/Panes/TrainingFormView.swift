/// The training dialog: one row per option, the focused one editable, its help underneath.
enum TrainingFormView {
    static func draw(_ form: TrainingForm, _ ctx: RenderContext, into grid: inout CellGrid) {
        let t = ctx.theme
        let nameWidth = (form.fields.map { TextWidth.columns(of: $0.name) }.max() ?? 0) + 2
        let help = form.error ?? form.fields[form.focused].help
        let box = OverlayView.centredBox(width: min(72, grid.width - 4), height: form.fields.count + 7, in: grid)
        grid.fill(box, style: t.style(.mainFg))
        grid.box(box, title: "start training", border: t.style(.focusLine), titleStyle: t.style(.hiFg, [.bold]))
        let inner = box.inset(by: 1)
        for (i, field) in form.fields.enumerated() {
            let y = inner.y + 1 + i
            let focused = i == form.focused
            grid.put(field.name, x: inner.x + 2, y: y, style: t.style(focused ? .hiFg : .mainFg, focused ? [.bold] : []), clip: inner)
            let valueArea = Rect(x: inner.x + 2 + nameWidth, y: y, width: inner.maxX - inner.x - 3 - nameWidth, height: 1)
            let shown = TextWidth.truncate(field.value + (focused ? "▏" : ""), to: valueArea.width)
            grid.fill(valueArea, style: focused ? t.selectedStyle : t.style(.title))
            grid.put(shown, x: valueArea.x, y: y, style: focused ? t.selectedStyle : t.style(.title), clip: valueArea)
        }
        let helpY = inner.y + 2 + form.fields.count
        grid.put(TextWidth.truncate(help, to: inner.width - 4), x: inner.x + 2, y: helpY,
                 style: t.style(form.error == nil ? .inactiveFg : .defect), clip: inner)
        let keys = [("Enter", "start"), ("↑/↓", "field"), ("Esc", "cancel")]
        var x = inner.x + 2
        for (k, what) in keys {
            x = grid.put(k, x: x, y: inner.maxY - 1, style: t.style(.keyFg, [.bold]), clip: inner)
            x = grid.put(" \(what)   ", x: x, y: inner.maxY - 1, style: t.style(.inactiveFg), clip: inner)
        }
    }
}
