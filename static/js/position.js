// Enhancement only: with the courier's permission, record where the handoff happened.
(function () {
  "use strict";
  var form = document.querySelector(".code-form");
  if (!form || !("geolocation" in navigator)) {
    return;
  }
  var latitude = form.querySelector("input[name=latitude]");
  var longitude = form.querySelector("input[name=longitude]");
  if (!latitude || !longitude) {
    return;
  }
  navigator.geolocation.getCurrentPosition(
    function (position) {
      latitude.value = position.coords.latitude.toFixed(6);
      longitude.value = position.coords.longitude.toFixed(6);
    },
    function () {},
    { enableHighAccuracy: false, maximumAge: 300000, timeout: 10000 }
  );
})();
