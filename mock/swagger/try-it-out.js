/*
 * Swagger UI "Try it out" for Moodle web-service functions, as a real Moodle client sends them.
 *
 * moodle-ws.yaml describes one operation per function at /webservice/rest/server.php#<function>;
 * Swagger UI would send the fragment (and the wstoken query it appends after it, which the browser
 * then drops with the fragment) and would write array and object fields as JSON text. This request
 * interceptor turns the request into Moodle's wire form (openapi/README.md):
 *   - the #function fragment (or its %23 spelling) is taken off the path, the query kept;
 *   - array and object fields are sent in PHP bracket notation (groups[0][courseid]=2), with
 *     PHP's http_build_query rules: true/false as 1/0, null left out;
 *   - empty optional fields are not sent (Moodle would read an empty string, not "absent").
 * The token comes from Authorize (the wstoken apiKey, in the query), as Moodle accepts it.
 */
(function () {
  "use strict";

  function bracketPairs(name, value, out) {
    if (value === null || value === undefined) {
      return;
    }
    if (Array.isArray(value)) {
      value.forEach(function (item, index) { bracketPairs(name + "[" + index + "]", item, out); });
      return;
    }
    if (typeof value === "object") {
      Object.keys(value).forEach(function (key) { bracketPairs(name + "[" + key + "]", value[key], out); });
      return;
    }
    if (typeof value === "boolean") {
      out.push([name, value ? "1" : "0"]);
      return;
    }
    out.push([name, String(value)]);
  }

  function structured(text) {
    var trimmed = text.trim();
    if (trimmed.charAt(0) !== "[" && trimmed.charAt(0) !== "{") {
      return undefined;
    }
    try {
      return JSON.parse(trimmed);
    } catch (e) {
      return undefined;  // not JSON: sent as typed, Moodle judges it
    }
  }

  // Swagger UI sends each item of an array field as a repeated key (groups={...}&groups={...}); the
  // page names the array fields of each function (window.nexsisMoodleArrays, from moodle-ws.yaml).
  function arrayFields(base, fragment) {
    var name = decodeURIComponent(fragment.replace(/^(#|%23)/, "").split("?")[0]);
    var known = window.nexsisMoodleArrays || {};
    return known[name] || [];
  }

  function formPairs(body, arrays) {
    var entries = [];
    if (typeof body === "string") {
      new URLSearchParams(body).forEach(function (value, key) { entries.push([key, value]); });
    } else if (body && typeof body === "object" && !(body instanceof FormData)) {
      Object.keys(body).forEach(function (key) { entries.push([key, body[key]]); });
    } else {
      return null;
    }
    var order = [];
    var values = {};
    entries.forEach(function (entry) {
      var key = entry[0];
      var value = entry[1];
      if (value === "" || value === null || value === undefined) {
        return;  // an empty optional field (or array item) is not sent
      }
      var parsed = typeof value === "string" ? structured(value) : value;
      parsed = parsed === undefined ? value : parsed;
      if (!(key in values)) {
        order.push(key);
        values[key] = [];
      }
      values[key].push(parsed);
    });
    var out = [];
    order.forEach(function (key) {
      var items = values[key];
      if (arrays.indexOf(key) >= 0) {
        // One item that is itself a JSON array (typed in by hand) is the whole list.
        var list = items.length === 1 && Array.isArray(items[0]) ? items[0] : items;
        bracketPairs(key, list, out);
      } else {
        bracketPairs(key, items[items.length - 1], out);  // PHP: the last of repeated names wins
      }
    });
    return out;
  }

  function encode(pairs) {
    var params = new URLSearchParams();
    pairs.forEach(function (pair) { params.append(pair[0], pair[1]); });
    return params.toString();
  }

  function moodleRequest(request) {
    var url = String(request.url);
    var cut = url.search(/#|%23/);
    if (cut < 0 || url.slice(0, cut).indexOf("/webservice/rest/server.php") < 0) {
      return request;
    }
    var rest = url.slice(cut).replace(/^(#|%23)/, "");
    var query = rest.indexOf("?") >= 0 ? rest.slice(rest.indexOf("?") + 1) : "";
    var path = url.slice(0, cut);
    var base = path.split("?")[0];
    var queries = [path.indexOf("?") >= 0 ? path.slice(path.indexOf("?") + 1) : "", query];
    var joined = queries.filter(function (q) { return q; }).join("&");
    request.url = base + (joined ? "?" + joined : "");
    var pairs = formPairs(request.body, arrayFields(base, url.slice(cut)));
    if (pairs !== null) {
      request.body = encode(pairs);
      request.headers = request.headers || {};
      request.headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    return request;
  }

  window.nexsisMoodleRequest = moodleRequest;
})();
