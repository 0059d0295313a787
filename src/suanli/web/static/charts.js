// Turn each server-drawn SVG chart into an interactive Apache ECharts chart, when ECharts
// loaded (the SVG stays as it is otherwise). The option is data in a data attribute.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof window.echarts === "undefined") { return; }
  document.querySelectorAll(".echart[data-option]").forEach(function (el) {
    var option;
    try { option = JSON.parse(el.getAttribute("data-option")); } catch (e) { return; }
    el.textContent = "";
    el.style.width = "100%";
    el.style.maxWidth = "720px";
    el.style.height = (el.getAttribute("data-height") || "300") + "px";
    window.echarts.init(el, null, { renderer: "svg" }).setOption(option);
    el.setAttribute("data-interactive", "true");
  });
});
