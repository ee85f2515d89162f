//! Server-rendered SVG charts: no script, nothing fetched at run time.

use std::fmt::Write;

use chrono::NaiveDate;
use scim_core::admin::UsageDay;
use scim_core::license::Pool;

use super::html::esc;

const USED: &str = "#2563eb";
const FREE: &str = "#dbeafe";
const OVER: &str = "#dc2626";
const SEATS: &str = "#64748b";
const GRID: &str = "#cbd5e1";

/// One horizontal bar per pool: used seats, then the available ones; use beyond the
/// seats in red.
pub(crate) fn seat_bars(pools: &[Pool]) -> String {
    const WIDTH: f64 = 520.0;
    const LABEL: f64 = 140.0;
    const ROW: f64 = 34.0;
    let height = ROW * pools.len().max(1) as f64 + 10.0;
    let scale = pools
        .iter()
        .map(|p| p.seats.max(p.used))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let span = WIDTH - LABEL - 90.0;
    let mut svg = format!(
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" aria-label="Seats used and available per pool">"#
    );
    for (i, pool) in pools.iter().enumerate() {
        let y = 8.0 + ROW * i as f64;
        let within = pool.used.min(pool.seats).max(0) as f64;
        let free = (pool.seats - pool.used).max(0) as f64;
        let over = (pool.used - pool.seats).max(0) as f64;
        let (used_w, free_w, over_w) = (
            span * within / scale,
            span * free / scale,
            span * over / scale,
        );
        let _ = write!(
            svg,
            r#"<text x="0" y="{ty}" class="label">{sku}</text><rect x="{LABEL}" y="{y}" width="{used_w:.1}" height="20" fill="{USED}"><title>{used} used</title></rect><rect x="{fx:.1}" y="{y}" width="{free_w:.1}" height="20" fill="{FREE}"><title>{avail} available</title></rect><rect x="{ox:.1}" y="{y}" width="{over_w:.1}" height="20" fill="{OVER}"><title>{over} over the seats</title></rect><text x="{tx:.1}" y="{ty}" class="figure">{used} / {seats}</text>"#,
            ty = y + 15.0,
            sku = esc(&pool.sku),
            fx = LABEL + used_w,
            ox = LABEL + used_w + free_w,
            tx = LABEL + used_w + free_w + over_w + 8.0,
            used = pool.used,
            seats = pool.seats,
            avail = pool.seats - pool.used.min(pool.seats),
            over = over as i64,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A pool's use over the days from `first` to `last` (a line; days without a snapshot
/// are skipped), with its seats (a dashed line).
pub(crate) fn history_line(
    sku: &str,
    days: &[&UsageDay],
    first: NaiveDate,
    last: NaiveDate,
) -> String {
    const WIDTH: f64 = 520.0;
    const HEIGHT: f64 = 150.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 20.0;
    let top = days
        .iter()
        .map(|d| d.seats.max(d.used))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (plot_w, plot_h) = (WIDTH - LEFT - 10.0, HEIGHT - BOTTOM - 10.0);
    let step = plot_w / (last - first).num_days().max(1) as f64;
    let point = |day: NaiveDate, value: i64| {
        (
            LEFT + step * (day - first).num_days() as f64,
            10.0 + plot_h - plot_h * value as f64 / top,
        )
    };
    let line = |value: fn(&UsageDay) -> i64| {
        days.iter()
            .map(|d| {
                let (x, y) = point(d.day, value(d));
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        r#"<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" aria-label="Seats used per day for {sku}">"#,
        sku = esc(sku)
    );
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{base:.1}" x2="{right:.1}" y2="{base:.1}" stroke="{GRID}"/><text x="{lx}" y="14" class="axis">{top}</text><text x="{lx}" y="{base:.1}" class="axis">0</text>"#,
        base = 10.0 + plot_h,
        right = WIDTH - 10.0,
        lx = LEFT - 6.0,
        top = top as i64,
    );
    let _ = write!(
        svg,
        r#"<polyline points="{seats}" fill="none" stroke="{SEATS}" stroke-dasharray="4 3"/><polyline points="{used}" fill="none" stroke="{USED}" stroke-width="2"/>"#,
        seats = line(|d| d.seats),
        used = line(|d| d.used),
    );
    for day in days {
        let (x, y) = point(day.day, day.used);
        let _ = write!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{USED}"><title>{date}: {used} of {seats}</title></circle>"#,
            date = day.day,
            used = day.used,
            seats = day.seats
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="{HEIGHT}" class="axis start">{first}</text><text x="{right:.1}" y="{HEIGHT}" class="axis">{last}</text>"#,
        right = WIDTH - 10.0,
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_show_use_available_and_overuse_per_pool() {
        let mut pro = Pool::new("pro", 10);
        pro.used = 4;
        let mut over = Pool::new("<b>", 2);
        over.used = 3;
        let svg = seat_bars(&[pro, over]);
        assert!(svg.contains("4 / 10"), "{svg}");
        assert!(svg.contains("<title>6 available</title>"), "{svg}");
        assert!(svg.contains("<title>1 over the seats</title>"), "{svg}");
        assert!(
            svg.contains("&lt;b&gt;") && !svg.contains("<b>"),
            "escaped: {svg}"
        );
    }
}
