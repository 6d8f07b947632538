// confidata serve: keep a job's progress bar live (the page works without this; it only saves
// reloading). Polls the job's JSON once a second and reloads the page when the job ends.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-job]").forEach(function (box) {
    var id = box.getAttribute("data-job");
    var bar = box.querySelector("progress");
    var stage = box.querySelector(".stage");
    var state = box.querySelector(".state");
    if (box.getAttribute("data-state") && ["done", "failed", "cancelled"].indexOf(box.getAttribute("data-state")) >= 0) {
      return;
    }
    var timer = setInterval(function () {
      fetch("/v1/jobs/" + encodeURIComponent(id), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (bar) { bar.value = job.progress; }
          if (stage) { stage.textContent = job.stage; }
          if (state) { state.textContent = job.state; }
          if (["done", "failed", "cancelled"].indexOf(job.state) >= 0) {
            clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () {});
    }, 1000);
  });
});
