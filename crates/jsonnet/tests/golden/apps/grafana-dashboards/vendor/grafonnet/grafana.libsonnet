{
  dashboard:: {
    new(title, uid=null, tags=[], refresh='30s', time_from='now-6h'):: {
      title: title, [if uid != null then 'uid']: uid, tags: tags, refresh: refresh, schemaVersion: 39,
      time: { from: time_from, to: 'now' }, panels: [], templating: { list: [] },
      addPanel(panel, gridPos):: local n = std.length(self.panels); self + { panels+: [panel { gridPos: gridPos, id: n + 1 }] },
      addTemplate(t):: self + { templating+: { list+: [t] } },
    },
  },
  timeseries:: {
    new(title, datasource='$datasource', unit='short'):: {
      type: 'timeseries', title: title, datasource: { type: 'prometheus', uid: datasource },
      fieldConfig: { defaults: { unit: unit, custom: { lineWidth: 1, fillOpacity: 10 } }, overrides: [] },
      targets: [],
      addTarget(expr, legend):: local n = std.length(self.targets); self + { targets+: [{ expr: expr, legendFormat: legend, refId: std.char(65 + n) }] },
    },
  },
  stat:: { new(title, expr):: { type: 'stat', title: title, targets: [{ expr: expr, refId: 'A' }], options: { reduceOptions: { calcs: ['lastNotNull'] } } } },
  template:: { datasource():: { name: 'datasource', type: 'datasource', query: 'prometheus', current: { text: 'default', value: 'default' } },
               query(name, query):: { name: name, type: 'query', datasource: { uid: '$datasource' }, query: query, refresh: 2, includeAll: false } },
}
